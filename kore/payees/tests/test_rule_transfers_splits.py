"""Transfer and split rules: on create, on import (both write paths, and through the API and the
worker), on apply with a preview that equals the run, and undone; never another organisation's
account, never into a closed period, never a guessed rate."""

import json
from datetime import date
from decimal import Decimal

import pytest

from kore.core.testing import assert_error, client_for, wait_until
from kore.imports import services as import_services
from kore.imports.services import import_job_create, import_job_run
from kore.imports.tests.conftest import upload, wait_for
from kore.ledger.models import Split, Transaction, Transfer
from kore.ledger.services.statements import statement_create, statement_reconcile
from kore.ledger.services.transfers import transfer_create
from kore.ledger.tests.factories import AccountFactory, CategoryFactory, base
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext
from kore.orgs.tests.factories import OrganizationFactory
from kore.payees.models import RuleRun

pytestmark = pytest.mark.django_db(transaction=True)
MAPPING = {
    "date": "Date", "amount": "Amount", "description": "Description",
    "original_amount": "Original", "original_currency": "Currency", "date_format": "%Y-%m-%d",
}  # fmt: skip


def _ctx(world):
    return OrgContext(world.org, Role.OWNER, world.owner, None)


def _rule(api, world, text, actions):
    body = {
        "name": text,
        "conditions": [{"field": "description", "op": "contains", "value": text}],
        "actions": actions,
    }
    response = api.post(f"{base(world)}/rules/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _tx(api, world, account, description, amount="-50.00", on="2024-03-05", **extra):
    data = {"account": account.pk, "occurred_on": on, "amount": amount,
            "description": description, **extra}  # fmt: skip
    response = api.post(f"{base(world)}/transactions/", data, format="json")
    assert response.status_code == 201, response.json()
    return Transaction.objects.get(pk=response.json()["id"])


def _row(world, account, description, amount="-50.00", on=date(2024, 3, 5), **extra):
    return Transaction.objects.create(
        organization=world.org, account=account, occurred_on=on, amount=Decimal(amount),
        currency=account.currency, description=description, **extra,
    )  # fmt: skip


def _legs(tx):
    tx.refresh_from_db()
    assert tx.transfer_id is not None
    return sorted(
        Transaction.objects.filter(transfer_id=tx.transfer_id, deleted_at__isnull=True),
        key=lambda leg: leg.amount,
    )


def _reconcile(world, account, end):
    statement = statement_create(
        ctx=_ctx(world), account=account.pk, end_date=end, closing_balance=Decimal("0")
    )
    statement_reconcile(ctx=_ctx(world), statement_id=statement.pk)


@pytest.fixture
def api(world):
    return client_for(world.member)


@pytest.fixture
def accounts(world):
    return (
        AccountFactory(organization=world.org, currency="EUR"),
        AccountFactory(organization=world.org, currency="EUR"),
    )


# --- validation --------------------------------------------------------------------------


def test_a_transfer_rule_names_an_account_of_the_organisation(world, api, accounts):
    theirs = AccountFactory(organization=OrganizationFactory(), currency="EUR")
    url = f"{base(world)}/rules/"
    when = [{"field": "description", "op": "contains", "value": "x"}]
    error = assert_error(
        api.post(url, {"name": "r", "conditions": when, "actions": {"transfer": theirs.pk}},
                 format="json"),
        422, "invalid_reference",
    )  # fmt: skip
    assert "actions.transfer" in error["fields"]
    food = CategoryFactory(organization=world.org)
    both = {"transfer": accounts[1].pk, "category": food.pk}
    assert_error(api.post(url, {"name": "r", "conditions": when, "actions": both},
                          format="json"), 422, "rule_invalid")  # fmt: skip
    assert_error(api.post(url, {"name": "r", "conditions": when, "actions": {"transfer": "1"}},
                          format="json"), 422, "rule_invalid")  # fmt: skip


# --- on create -----------------------------------------------------------------------------


def test_create_makes_a_transfer_with_a_new_counter_leg(world, api, accounts):
    checking, savings = accounts
    food = CategoryFactory(organization=world.org)
    _rule(api, world, "savings", {"transfer": savings.pk})
    _rule(api, world, "sav", {"category": food.pk, "tags": ["moved"]})  # a later category
    tx = _tx(api, world, checking, "To savings")
    leaving, arriving = _legs(tx)
    assert (leaving.pk, leaving.account_id, leaving.amount) == (tx.pk, checking.pk, Decimal("-50"))
    assert (arriving.account_id, arriving.amount) == (savings.pk, Decimal("50"))
    assert (leaving.category_id, arriving.category_id) == (None, None)  # a leg has none
    assert Transfer.objects.get(pk=tx.transfer_id).rate == 1
    mine = _tx(api, world, checking, "To savings", category=food.pk)  # the user's category wins
    assert (mine.transfer_id, mine.category_id) == (None, food.pk)


def test_create_links_the_counter_row_already_there(world, api, accounts):
    checking, savings = accounts
    there = _row(world, savings, "from checking", amount="50.00", on=date(2024, 3, 7))
    _row(world, savings, "too late", amount="50.00", on=date(2024, 3, 20))
    _rule(api, world, "savings", {"transfer": savings.pk})
    tx = _tx(api, world, checking, "To savings")
    assert [leg.pk for leg in _legs(tx)] == [tx.pk, there.pk]
    assert Transaction.objects.filter(account=savings).count() == 2  # no duplicate


def test_create_in_another_currency_without_a_rate_stays_a_plain_row(world, api, accounts):
    checking = accounts[0]
    dollars = AccountFactory(organization=world.org, currency="USD")
    _rule(api, world, "dollars", {"transfer": dollars.pk})
    tx = _tx(api, world, checking, "To dollars")
    assert tx.transfer_id is None
    assert not Transaction.objects.filter(account=dollars).exists()


def test_create_never_puts_a_counter_leg_in_a_closed_period(world, api, accounts):
    checking, savings = accounts
    _reconcile(world, savings, date(2024, 3, 31))
    _rule(api, world, "savings", {"transfer": savings.pk})
    tx = _tx(api, world, checking, "To savings")
    assert tx.transfer_id is None
    assert not Transaction.objects.filter(account=savings).exists()


def _post(api, world, account, description, amount="-50.00"):
    data = {"account": account.pk, "occurred_on": "2024-03-05", "amount": amount,
            "description": description}  # fmt: skip
    response = api.post(f"{base(world)}/transactions/", data, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_says_why_a_transfer_rule_left_the_row_as_it_is(world, api, accounts):
    checking, savings = accounts
    dollars = AccountFactory(organization=world.org, currency="USD")
    _rule(api, world, "dollars", {"transfer": dollars.pk})
    _rule(api, world, "savings", {"transfer": savings.pk})
    body = _post(api, world, checking, "To dollars")
    assert body["transfer"] is None
    assert [s["code"] for s in body["transfers_skipped"]] == ["transfer_rate_unknown"]
    assert "Kore does not guess a rate" in body["transfers_skipped"][0]["message"]
    assert _post(api, world, checking, "To savings")["transfers_skipped"] == []
    assert _post(api, world, checking, "Coffee")["transfers_skipped"] == []


def test_create_says_the_counter_leg_would_be_in_a_closed_period(world, api, accounts):
    checking, savings = accounts
    _reconcile(world, savings, date(2024, 3, 31))
    _rule(api, world, "savings", {"transfer": savings.pk})
    body = _post(api, world, checking, "To savings")
    assert [s["code"] for s in body["transfers_skipped"]] == ["transfer_closed_period"]


def test_create_says_the_matching_counter_row_is_categorised(world, api, accounts):
    checking, savings = accounts
    food = CategoryFactory(organization=world.org)
    _row(world, savings, "from checking", amount="50.00", category=food)
    _rule(api, world, "savings", {"transfer": savings.pk})
    body = _post(api, world, checking, "To savings")
    assert [s["code"] for s in body["transfers_skipped"]] == ["transfer_counter_categorised"]


def test_batch_create_names_the_items_a_transfer_rule_left_as_they_are(world, api, accounts):
    checking, savings = accounts
    dollars = AccountFactory(organization=world.org, currency="USD")
    _rule(api, world, "dollars", {"transfer": dollars.pk})
    _rule(api, world, "savings", {"transfer": savings.pk})
    items = [
        {"account": checking.pk, "occurred_on": "2024-03-05", "amount": amount,
         "description": text}
        for text, amount in (("To savings", "-50.00"), ("To dollars", "-20.00"),
                             ("Coffee", "-3.00"), ("To dollars again", "-5.00"))
    ]  # fmt: skip
    response = api.post(f"{base(world)}/transactions/bulk/", {"items": items}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert len(body["ids"]) == 4
    assert [(s["index"], s["code"]) for s in body["transfers_skipped"]] == [
        (1, "transfer_rate_unknown"),
        (3, "transfer_rate_unknown"),
    ]
    assert all(s["message"] for s in body["transfers_skipped"])
    assert Transaction.objects.get(pk=body["ids"][0]).transfer_id is not None


def test_create_splits_add_up_in_the_currencys_decimals(world, api, accounts):
    a, b, c = (CategoryFactory(organization=world.org) for _ in range(3))
    split = [{"category": a.pk, "percent": "33.333"}, {"category": b.pk, "percent": "33.333"},
             {"category": c.pk, "percent": "33.334"}]  # fmt: skip
    _rule(api, world, "shop", {"split": split})
    tx = _tx(api, world, accounts[0], "shop", amount="-100.01")
    lines = list(tx.splits.values_list("amount", flat=True))
    assert lines == [Decimal("-33.34"), Decimal("-33.34"), Decimal("-33.33")]
    assert sum(lines) == tx.amount
    yen = AccountFactory(organization=world.org, currency="JPY")
    tx = _tx(api, world, yen, "shop", amount="-1001")
    assert list(tx.splits.values_list("amount", flat=True)) == [
        Decimal("-334"),
        Decimal("-334"),
        Decimal("-333"),
    ]


# --- on import -----------------------------------------------------------------------------

CSV = (
    b"Date,Amount,Description,Original,Currency\n"
    b"2024-03-01,-100.01,shop one,,\n"
    b"2024-03-02,-50.00,to savings,,\n"
    b"2024-03-03,-20.00,to dollars a,21.70,USD\n"
    b"2024-03-04,-30.00,to dollars b,,\n"
    b"2024-03-05,-7.00,coffee,,\n"
)


def _import_rules(api, world, savings, dollars):
    a, b = CategoryFactory(organization=world.org), CategoryFactory(organization=world.org)
    split = [{"category": a.pk, "percent": "50"}, {"category": b.pk, "percent": "50"}]
    _rule(api, world, "shop", {"split": split})
    _rule(api, world, "savings", {"transfer": savings.pk})
    _rule(api, world, "dollars", {"transfer": dollars.pk})
    return a, b


def _check_import(world, checking, savings, dollars, categories):
    rows = {t.description: t for t in Transaction.objects.filter(account=checking)}
    assert len(rows) == 5
    shop = rows["shop one"]
    assert shop.category_id is None
    assert list(shop.splits.values_list("category_id", "amount")) == [
        (categories[0].pk, Decimal("-50.00")), (categories[1].pk, Decimal("-50.01"))
    ]  # fmt: skip
    assert shop.has_splits
    moved = rows["to savings"]
    assert [(leg.account_id, leg.amount) for leg in _legs(moved)] == [
        (checking.pk, Decimal("-50")), (savings.pk, Decimal("50"))
    ]  # fmt: skip
    there = _legs(rows["to dollars a"])
    assert [(leg.account_id, leg.amount) for leg in there] == [
        (checking.pk, Decimal("-20")), (dollars.pk, Decimal("21.70"))
    ]  # fmt: skip
    assert Transfer.objects.get(pk=there[0].transfer_id).rate == Decimal("1.085")
    assert rows["to dollars b"].transfer_id is None  # no rate to be had: left as it is
    assert Transaction.objects.filter(account=dollars).count() == 1
    assert rows["coffee"].transfer_id is None
    assert not rows["coffee"].has_splits


def _import(world, account, monkeypatch=None, staged=True):
    if not staged:
        monkeypatch.setattr(import_services, "_staged", lambda: False)
    job = import_job_create(ctx=_ctx(world), file=upload("bank.csv", CSV), account=account.pk,
                            format="csv", mapping=MAPPING)  # fmt: skip
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


@pytest.mark.parametrize("staged", [True, False], ids=["staging", "per-row"])
def test_import_applies_split_and_transfer_rules(world, api, accounts, monkeypatch, staged):
    checking, savings = accounts
    dollars = AccountFactory(organization=world.org, currency="USD")
    categories = _import_rules(api, world, savings, dollars)
    job = _import(world, checking, monkeypatch, staged=staged)
    assert (job.status, job.created_count) == ("done", 5), (job.error_message, job.errors)
    _check_import(world, checking, savings, dollars, categories)
    assert [(s["line"], s["code"]) for s in job.transfers_skipped] == [(5, "transfer_rate_unknown")]


def test_import_through_the_api_and_the_worker(celery_worker, world, api, accounts):
    checking, savings = accounts
    dollars = AccountFactory(organization=world.org, currency="USD")
    categories = _import_rules(api, world, savings, dollars)
    there = _row(world, savings, "from checking", amount="50.00", on=date(2024, 3, 3))
    body = {"file": upload("bank.csv", CSV), "account": checking.pk, "format": "csv"}
    body["mapping"] = json.dumps(MAPPING)
    response = client_for(world.member).post(f"{base(world)}/imports/", body,
                                             format="multipart")  # fmt: skip
    assert response.status_code == 202, response.content
    job = wait_for(response.json()["id"])
    assert (job.status, job.created_count) == ("done", 5), (job.error_message, job.errors)
    _check_import(world, checking, savings, dollars, categories)
    moved = Transaction.objects.get(account=checking, description="to savings")
    assert _legs(moved)[1].pk == there.pk  # linked, not duplicated
    assert Transaction.objects.filter(account=savings).count() == 1
    report = client_for(world.viewer).get(f"{base(world)}/imports/{job.pk}/").json()
    assert [s["code"] for s in report["transfers_skipped"]] == ["transfer_rate_unknown"]
    assert "destination" in report["transfers_skipped"][0]["message"]


def test_import_into_a_closed_destination_makes_no_counter_leg(world, api, accounts):
    checking, savings = accounts
    dollars = AccountFactory(organization=world.org, currency="USD")
    _import_rules(api, world, savings, dollars)
    _reconcile(world, savings, date(2024, 3, 31))
    job = _import(world, checking)
    assert (job.status, job.created_count) == ("done", 5)
    assert Transaction.objects.get(description="to savings").transfer_id is None
    assert not Transaction.objects.filter(account=savings).exists()
    assert [s["code"] for s in job.transfers_skipped] == [
        "transfer_closed_period",
        "transfer_rate_unknown",
    ]


# --- apply, preview, undo --------------------------------------------------------------------


def _preview(api, world, rule_id):
    response = api.post(f"{base(world)}/rules/{rule_id}/preview/", {}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def _apply(api, world, rule_id):
    response = api.post(f"{base(world)}/rules/{rule_id}/apply/", {}, format="json")
    assert response.status_code == 202, response.json()
    run_id = response.json()["id"]
    return wait_until(
        lambda: RuleRun.objects.filter(pk=run_id, status__in=("done", "failed")).first(),
        timeout=60, what="the rule run to finish",
    )  # fmt: skip


def _undo(api, run):
    response = api.post(f"/api/v1/orgs/{run.organization.slug}/rule-runs/{run.pk}/undo/",
                        format="json")  # fmt: skip
    assert response.status_code == 200, response.json()


def test_apply_transfer_preview_equals_apply_and_undo_restores(celery_worker, world, api,
                                                               accounts):  # fmt: skip
    checking, savings = accounts
    dollars = AccountFactory(organization=world.org, currency="USD")
    food = CategoryFactory(organization=world.org)
    linked = _row(world, checking, "savings 1", on=date(2024, 3, 1))
    there = _row(world, savings, "in", amount="50.00", on=date(2024, 3, 2))
    created = _row(world, checking, "savings 2", amount="-12.34", on=date(2024, 3, 6))
    priced = _row(world, checking, "dollars", amount="-20.00", original_amount=Decimal("-9"),
                  original_currency="GBP")  # fmt: skip
    categorised = _row(world, checking, "savings 4", category=food)
    old = _row(world, checking, "savings old", on=date(2024, 1, 10))
    _reconcile(world, savings, date(2024, 1, 31))
    rule_id = _rule(api, world, "savings", {"transfer": savings.pk})
    preview = _preview(api, world, rule_id)
    assert Transfer.objects.count() == 0  # nothing written
    assert preview["would_change"] == 2
    by_id = {r["id"]: r["after"]["transfer"] for r in preview["rows"]}
    assert by_id[linked.pk]["counter"] == there.pk
    assert by_id[created.pk]["counter"] is None
    assert by_id[created.pk]["to_amount"] == "12.34"
    skipped = {r["id"]: r["code"] for r in preview["skipped_transfer_rows"]}
    assert skipped == {categorised.pk: "transfer_row_categorised",
                       old.pk: "transfer_closed_period"}  # fmt: skip
    assert preview["skipped_transfer"] == 2
    run = _apply(api, world, rule_id)
    assert (run.status, run.changed_count) == ("done", preview["would_change"])
    assert {c["id"] for c in run.changes} == set(by_id)
    assert [leg.pk for leg in _legs(linked)] == [linked.pk, there.pk]
    new_leg = _legs(created)[1]
    assert (new_leg.account_id, new_leg.amount) == (savings.pk, Decimal("12.34"))
    for row in (priced, categorised, old):
        row.refresh_from_db()
        assert row.transfer_id is None
    _undo(api, run)
    for row in (linked, there, created):
        row.refresh_from_db()
        assert row.transfer_id is None
    new_leg.refresh_from_db()
    assert new_leg.deleted_at is not None
    assert Transfer.objects.count() == 0
    assert Transaction.objects.filter(account=savings, deleted_at__isnull=True).count() == 1
    # Across currencies: only a row stating the destination's amount moves.
    rule_id = _rule(api, world, "dollars", {"transfer": dollars.pk})
    dollars_preview = _preview(api, world, rule_id)
    assert dollars_preview["would_change"] == 0
    assert [r["code"] for r in dollars_preview["skipped_transfer_rows"]] == [
        "transfer_rate_unknown"
    ]


def test_apply_split_preview_equals_apply_and_undo_restores(celery_worker, world, api,
                                                            accounts):  # fmt: skip
    checking, savings = accounts
    a, b = CategoryFactory(organization=world.org), CategoryFactory(organization=world.org)
    rows = [_row(world, checking, f"shop {i}", amount=f"-10.0{i}") for i in range(3)]
    mine = _row(world, checking, "shop mine", category=a)
    leg = transfer_create(ctx=_ctx(world), from_account=checking.pk, to_account=savings.pk,
                          amount=Decimal("5"), occurred_on=date(2024, 3, 1),
                          description="shop fund")  # fmt: skip
    split = [{"category": a.pk, "percent": "50"}, {"category": b.pk, "percent": "50"}]
    rule_id = _rule(api, world, "shop", {"split": split})
    preview = _preview(api, world, rule_id)
    assert preview["would_change"] == 3
    assert preview["skipped_transfer_category"] == 2
    run = _apply(api, world, rule_id)
    assert run.changed_count == 3
    assert [c["after"] for c in run.changes] == [r["after"] for r in preview["rows"]]
    for row in rows:
        lines = list(Split.objects.filter(transaction=row).values_list("amount", flat=True))
        assert len(lines) == 2
        assert sum(lines) == row.amount
    assert not Split.objects.filter(transaction=mine).exists()
    assert not Split.objects.filter(transaction__transfer=leg).exists()
    _undo(api, run)
    assert not Split.objects.filter(transaction__in=rows).exists()
    assert not Transaction.objects.filter(pk__in=[r.pk for r in rows], has_splits=True).exists()


def test_undo_leaves_a_transfer_whose_counter_leg_changed_since(celery_worker, world, api,
                                                                accounts):  # fmt: skip
    checking, savings = accounts
    moved = _row(world, checking, "savings")
    rule_id = _rule(api, world, "savings", {"transfer": savings.pk})
    run = _apply(api, world, rule_id)
    assert run.changed_count == 1
    counter = _legs(moved)[1]
    edited = api.patch(f"{base(world)}/transactions/{counter.pk}/", {"notes": "mine"},
                       format="json")  # fmt: skip
    assert edited.status_code == 200, edited.json()
    _undo(api, run)
    assert [leg.pk for leg in _legs(moved)] == [moved.pk, counter.pk]  # left as it is
    assert Transfer.objects.count() == 1
