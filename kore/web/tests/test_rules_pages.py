"""The rules page (ordered, live "would change N" count, apply and undo) and the payees page
(rename, default category, merge)."""

from datetime import date
from decimal import Decimal

import pytest

from kore.core.testing import OrgWorld
from kore.ledger.models import Transaction
from kore.ledger.tests.factories import AccountFactory, CategoryFactory
from kore.payees.models import Payee, PayeeAlias, Rule, RuleRun
from kore.payees.runs import rule_run_execute

from .helpers import browser, rule_post

pytestmark = pytest.mark.django_db


def _rows(world: OrgWorld, *descriptions: str) -> None:
    account = AccountFactory(organization=world.org)
    for text in descriptions:
        Transaction.objects.create(
            organization=world.org, account=account, occurred_on=date(2024, 3, 1),
            amount=Decimal("-3"), currency="EUR", description=text,
        )  # fmt: skip


def _form(name: str, value: str, category: int) -> dict[str, str]:
    return rule_post(
        name, [{"field": "description", "op": "contains", "value": value}], category=category
    )


def test_live_count_while_writing_a_rule(world: OrgWorld) -> None:
    _rows(world, "Coffee", "coffee beans", "Tea")
    cafe = CategoryFactory(organization=world.org)
    client = browser(world.member)
    url = f"/o/{world.org.slug}/rules/count/"
    response = client.post(url, _form("c", "coffee", cafe.pk), HTTP_HX_REQUEST="true")
    assert "Would change 2 transactions (2 match)" in response.content.decode()
    bad = client.post(
        url, {**_form("c", "(", cafe.pk), "conditions-0-op": "regex"}, HTTP_HX_REQUEST="true"
    )
    assert "Not a regular expression" in bad.content.decode()
    assert not Rule.objects.exists()


def test_add_reorder_apply_and_undo(world: OrgWorld) -> None:
    _rows(world, "Coffee")
    cafe = CategoryFactory(organization=world.org)
    client = browser(world.member)
    page = f"/o/{world.org.slug}/rules/"
    client.post(page, _form("first", "coffee", cafe.pk))
    client.post(page, _form("second", "tea", cafe.pk))
    second = Rule.objects.get(name="second")
    client.post(f"{page}{second.pk}/", {"action": "up"})
    assert [r.name for r in Rule.objects.order_by("position")] == ["second", "first"]
    first = Rule.objects.get(name="first")
    client.post(f"{page}{first.pk}/", {"action": "apply"})
    run = RuleRun.objects.get()
    rule_run_execute(run_id=run.pk)  # the worker's code path
    assert Transaction.objects.get().category_id == cafe.pk
    html = client.get(page).content.decode()
    assert "Undo" in html
    client.post(f"/o/{world.org.slug}/rule-runs/{run.pk}/undo/")
    assert Transaction.objects.get().category_id is None


def test_a_transfer_rule_is_chosen_on_the_page(world: OrgWorld) -> None:
    _rows(world, "To savings")
    checking = Transaction.objects.get().account
    savings = AccountFactory(organization=world.org, currency="EUR")
    client = browser(world.member)
    page = f"/o/{world.org.slug}/rules/"
    assert "Mark as a transfer to" in client.get(page).content.decode()
    form = {**_form("move", "savings", 0), "category": "", "transfer": str(savings.pk)}
    count = client.post(f"{page}count/", form, HTTP_HX_REQUEST="true")
    assert "Would change 1 transaction (1 match)" in count.content.decode()
    client.post(page, form)
    rule = Rule.objects.get(name="move")
    assert rule.actions == {"transfer": savings.pk}
    client.post(f"{page}{rule.pk}/", {"action": "apply"})
    rule_run_execute(run_id=RuleRun.objects.get().pk)
    moved = Transaction.objects.get(account=checking)
    assert moved.transfer_id is not None
    assert Transaction.objects.get(account=savings).amount == Decimal("3")


def test_payees_page_renames_and_merges(world: OrgWorld) -> None:
    a = Payee.objects.create(organization=world.org, name="NETFLIX.COM")
    PayeeAlias.objects.create(organization=world.org, payee=a, key="netflix")
    b = Payee.objects.create(organization=world.org, name="Netflix")
    PayeeAlias.objects.create(organization=world.org, payee=b, key="netflix inc")
    client = browser(world.member)
    html = client.get(f"/o/{world.org.slug}/payees/").content.decode()
    assert "NETFLIX.COM" in html
    client.post(f"/o/{world.org.slug}/payees/{b.pk}/", {"name": "Netflix Inc", "etag": ""})
    b.refresh_from_db()
    assert b.name == "Netflix Inc"
    client.post(f"/o/{world.org.slug}/payees/{a.pk}/", {"into": str(b.pk)})
    assert list(Payee.objects.filter(organization=world.org)) == [b]
    assert set(b.aliases.values_list("key", flat=True)) == {"netflix", "netflix inc"}


def test_viewer_sees_but_cannot_change(world: OrgWorld) -> None:
    client = browser(world.viewer)
    assert client.get(f"/o/{world.org.slug}/rules/").status_code == 200
    assert client.post(f"/o/{world.org.slug}/rules/", _form("x", "y", 1)).status_code == 403
    assert browser(world.outsider).get(f"/o/{world.org.slug}/payees/").status_code == 404
