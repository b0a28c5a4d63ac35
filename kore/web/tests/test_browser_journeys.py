"""End-to-end journeys in Chromium: sign in, add, edit inline, conflict, bulk, import, reconcile,
report; accessibility (axe) on the main pages; the layout at 375 px."""

import os
from decimal import Decimal
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from config.celery_app import app as celery_app
from kore.core.testing import OrgWorld
from kore.ledger.models import Statement, Transaction
from kore.ledger.services.transactions import transaction_update
from kore.orgs.tests.factories import PASSWORD
from kore.payees.models import Rule

from .conftest import shot
from .helpers import ledger, owner_ctx

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page: Any, email: str) -> None:
    page.goto(page.base + "/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#overview, .empty")  # the organisation's overview first
    page.click("nav >> text=Transactions")
    page.wait_for_selector("#tx-table, .empty")


def serious(page: Any) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def test_sign_in_add_edit_conflict_bulk(web_page: Any, world: OrgWorld) -> None:
    page = web_page
    data = ledger(world, count=4)
    sign_in(page, world.member.email)
    assert page.locator("tr.tx-row").count() == 4
    shot(page, "transactions")
    assert not serious(page)

    # Add a transaction through the form.
    page.click("text=Add transaction")
    page.fill("#id_amount", "-42.10")
    page.fill("#id_description", "Printer paper")
    page.select_option("#id_category", str(data["food"].pk))
    page.click("button.primary")
    page.wait_for_selector("text=Transaction added.")
    assert Transaction.objects.filter(
        description="Printer paper", amount=Decimal("-42.10")
    ).exists()

    # Edit a row inline (keyboard: focus the row, Enter opens the editor).
    page.goto(page.base + f"/o/{world.org.slug}/transactions/")
    tx = data["txs"][0]
    page.focus(f"#tx-{tx.pk}")
    page.keyboard.press("Enter")
    page.select_option(f"#c-{tx.pk}", str(data["travel"].pk))
    page.click(f"#e-{tx.pk} button[type=submit]")
    page.wait_for_selector(f"#tx-{tx.pk}:not(.editing) >> text=Travel")
    tx.refresh_from_db()
    assert tx.category_id == data["travel"].pk

    # A stale edit: someone saves first; this save shows the conflict and writes nothing.
    other = data["txs"][1]
    page.click(f"#tx-{other.pk} button.edit")
    page.wait_for_selector(f"#e-{other.pk}")
    transaction_update(ctx=owner_ctx(world), tx_id=other.pk, status="cleared")
    page.select_option(f"#c-{other.pk}", str(data["travel"].pk))
    page.click(f"#e-{other.pk} button[type=submit]")
    page.wait_for_selector(f"#tx-{other.pk} .conflict")
    shot(page, "conflict")
    other.refresh_from_db()
    assert other.category_id == data["food"].pk

    # Bulk re-categorise two rows.
    page.goto(page.base + f"/o/{world.org.slug}/transactions/")
    ids = [data["txs"][2].pk, data["txs"][3].pk]
    for pk in ids:
        page.check(f"#tx-{pk} input.pick")
    assert page.inner_text("#bulk-count") == "2 selected"
    page.select_option("#bulk-action", "categorise")
    page.select_option("#bulk-category", str(data["travel"].pk))
    page.click("#bulk button[type=submit]")
    page.wait_for_selector("text=2 transactions updated.")
    cats = set(Transaction.objects.filter(pk__in=ids).values_list("category_id", flat=True))
    assert cats == {data["travel"].pk}


def test_import_csv_with_mapping(web_page: Any, world: OrgWorld) -> None:
    page = web_page
    celery_app.conf.task_always_eager = True  # the job runs on commit, in the server thread
    ledger(world, count=0)
    sign_in(page, world.member.email)
    page.goto(page.base + f"/o/{world.org.slug}/imports/")
    csv_text = (
        "Booked,Value,Memo,Payee\n2026-01-05,-12.50,Coffee beans,Roastery\n"
        "2026-01-06,-7.00,Train,Rail\n2026-01-07,oops,Bad row,Nobody\n"
    )
    page.set_input_files(
        "#id_file",
        files=[{"name": "bank.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}],
    )
    page.wait_for_selector("#mapping:not([hidden])")
    assert page.locator("#preview tbody tr").count() == 3
    page.select_option("#map_date", "Booked")
    page.select_option("#map_amount", "Value")
    page.select_option("#map_description", "Memo")
    page.select_option("#map_counterparty", "Payee")
    page.select_option("#id_mode", "skip_invalid")
    page.uncheck("#id_dry_run")
    shot(page, "import-mapping")
    page.click("#import-form button[type=submit]")
    page.wait_for_selector(".job-status >> text=done")
    assert "oops" in page.content() or page.locator("text=Row errors").count() == 1
    assert Transaction.objects.filter(organization=world.org, description="Train").exists()
    assert not serious(page)


def test_reconcile_and_report(web_page: Any, world: OrgWorld) -> None:
    page = web_page
    data = ledger(world, count=2)  # -1.50 and -2.50 from 100.00, both uncleared
    sign_in(page, world.member.email)
    page.goto(page.base + f"/o/{world.org.slug}/reconcile/")
    page.fill("#id_end_date", "2026-03-31")
    page.fill("#id_closing_balance", "98.50")
    page.wait_for_selector("#difference >> text=-1.50")
    assert page.locator("#reconcile-confirm").count() == 0
    page.check(f"#tick-{data['txs'][0].pk} input.tick")  # on the statement: tick it
    page.wait_for_selector("#difference.ok")
    assert not serious(page)
    shot(page, "reconcile")
    page.click("#reconcile-confirm")
    page.wait_for_selector("text=Reconciled")
    assert Statement.objects.get(organization=world.org).status == "reconciled"
    assert Transaction.objects.get(pk=data["txs"][0].pk).status == "reconciled"

    page.goto(page.base + f"/o/{world.org.slug}/reports/?date_from=2026-01-01&date_to=2026-04-30")
    assert page.locator("svg.chart rect.bar").count() >= 2
    assert page.locator("text=Food").count() >= 1
    shot(page, "reports")
    assert not serious(page)
    for path in ("accounts/", "categories/"):
        page.goto(page.base + f"/o/{world.org.slug}/{path}")
        assert not serious(page), path


def test_small_screen_has_no_sideways_scroll(web_page: Any, world: OrgWorld) -> None:
    page = web_page
    ledger(world, count=5)
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(page, world.viewer.email)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 376, width
    shot(page, "transactions-375")
    page.goto(page.base + "/sign-in/")
    assert not serious(page)


def test_at_390_px_the_amounts_are_on_screen_and_the_rows_come_first(
    web_page: Any, world: OrgWorld
) -> None:
    """A member's list (selection and edit columns) on a phone: every amount inside the
    viewport without scrolling sideways, and the first row above the fold."""
    page = web_page
    data = ledger(world, count=5)
    ctx = owner_ctx(world)
    transaction_update(ctx=ctx, tx_id=data["txs"][0].pk, amount=Decimal("-12345678.90"),
                       description="Quarterly insurance premium for the delivery vans and "
                       "their trailers", counterparty="Versicherungsgesellschaft")  # fmt: skip
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, world.member.email)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    cells = page.locator("#tx-body td.num")
    assert cells.count() == 5
    for i in range(cells.count()):
        box = cells.nth(i).bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 390, (i, box)
    wrap = page.evaluate(
        "(() => { const w = document.querySelector('.tablewrap');"
        " return [w.scrollWidth, w.clientWidth]; })()"
    )
    assert wrap[0] <= wrap[1], wrap  # nothing hidden to the right of the table
    first = page.locator("#tx-body tr.tx-row").first.bounding_box()
    assert first is not None
    assert first["y"] + first["height"] <= 844, first  # filters folded: rows on the first screen
    assert not page.locator("#id_date_from").is_visible()
    page.click("#more-filters > summary")
    assert page.locator("#id_date_from").is_visible()
    shot(page, "transactions-390")


def test_admin_and_api_docs_work_under_the_policy(web_page: Any, world: OrgWorld) -> None:
    """The strict CSP breaks neither the admin (its pages load scripts and styles from files) nor
    Swagger UI (left out of the policy); web_page fails on any CSP report."""
    page = web_page
    world.owner.is_staff = True
    world.owner.is_superuser = True
    world.owner.save()
    page.goto(page.base + "/admin/")  # the admin signs in through the web sign-in
    page.wait_for_url("**/sign-in/?next=%2Fadmin%2F")
    page.fill("#id_username", world.owner.email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_selector("#site-name")
    page.goto(page.base + "/admin/ledger/transaction/")
    page.wait_for_selector("#changelist")
    page.goto(page.base + "/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .info", timeout=20_000)


def test_demo_data_fills_every_screen(web_page: Any, settings: Any) -> None:
    """`make run`'s demo organisation: every page has something to show (no empty state)."""
    from django.core.management import call_command

    from .conftest import ARTEFACTS

    settings.KORE_DEMO_PASSWORD = PASSWORD
    settings.KORE_DATA_DIR = ARTEFACTS
    call_command("kore_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    page = web_page
    sign_in(page, settings.KORE_DEMO_EMAIL)
    assert page.locator("tr.tx-row").count() == 50
    shot(page, "demo-transactions")
    for path in ("accounts/", "categories/", "reports/", "reconcile/", "settings/"):
        page.goto(page.base + f"/o/demo/{path}")
        assert page.locator("section.empty, p.empty").count() == 0, path
        shot(page, "demo-" + path.strip("/"))


def test_rule_editor_adds_rows_and_shows_the_inputs_a_field_takes(
    web_page: Any, world: OrgWorld
) -> None:
    page = web_page
    data = ledger(world, count=3)  # Lunch 0, 1, 2 at -1.50, -2.50, -3.50
    sign_in(page, world.member.email)
    page.goto(page.base + f"/o/{world.org.slug}/rules/")
    assert not serious(page)
    page.fill("#id_name", "Small lunches")
    page.fill("#id_conditions-0-value", "lunch")
    assert not page.is_visible("#id_conditions-0-low")  # a text condition takes no range
    page.click("button[data-add-row=conditions]")
    page.select_option("#id_conditions-1-field", "amount")
    assert page.input_value("#id_conditions-1-op") == "between"
    assert not page.is_visible("#id_conditions-1-value")
    page.fill("#id_conditions-1-low", "-3")
    page.select_option("#id_category", str(data["travel"].pk))
    # Both rows' categories were chosen by hand, which a rule never overrides.
    page.wait_for_selector("#rule-count:has-text('Would change 0 transactions (2 match)')")
    shot(page, "rule-editor")
    page.click("#rule-form button[type=submit]")
    page.wait_for_selector("text=Rule 'Small lunches' added.")
    rule = Rule.objects.get(name="Small lunches")
    assert rule.conditions == [
        {"field": "description", "op": "contains", "value": "lunch"},
        {"field": "amount", "op": "between", "value": {"min": "-3"}},
    ]
    page.click(f"#rule-{rule.pk} >> text=Edit")
    page.wait_for_selector("#id_conditions-1-low")
    assert page.input_value("#id_conditions-1-low") == "-3"
    assert not serious(page)


def test_rules_are_reordered_by_drag_and_the_order_persists(web_page: Any, world: OrgWorld) -> None:
    page = web_page
    data = ledger(world, count=0)
    for index, name in enumerate(("Alpha", "Beta", "Gamma")):
        Rule.objects.create(
            organization=world.org, name=name, position=index,
            conditions=[{"field": "account", "op": "equals", "value": data["account"].pk}],
            actions={"category": data["food"].pk},
        )  # fmt: skip
    gamma = Rule.objects.get(name="Gamma")
    sign_in(page, world.member.email)
    page.goto(page.base + f"/o/{world.org.slug}/rules/")
    assert page.locator(f"#rule-{gamma.pk} .summary").inner_text() == (
        "account is Current → category Food"
    )
    # A native drag: Playwright drives Chromium's own HTML5 drag and drop with the mouse
    # (dragstart, dragover, drop, dragend all come from the browser, none dispatched here).
    # Dropped on the top edge of the first rule, Gamma goes before it.
    page.drag_and_drop(
        f"#rule-{gamma.pk} .cname", "#rule-list > li:first-child", target_position={"x": 20, "y": 2}
    )
    page.wait_for_selector("text=New order saved.")
    page.reload()
    names = page.locator("#rule-list > li .cname").all_inner_texts()
    assert names == ["Gamma", "Alpha", "Beta"]
    assert [r.name for r in Rule.objects.order_by("position")] == names
    shot(page, "rules-reordered")
    assert not serious(page)
