"""/rules/: ordered, versioned and audited; applied on create and import; bad rules refused."""

import time
from datetime import date
from decimal import Decimal

import pytest

from kore.core.testing import assert_error, client_for
from kore.imports.services import import_job_create, import_job_run
from kore.imports.tests.conftest import upload
from kore.ledger.models import Tag, Transaction
from kore.ledger.tests.factories import AccountFactory, CategoryFactory, base
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext
from kore.payees.models import Rule


def _url(world, suffix=""):
    return f"{base(world)}/rules/{suffix}"


def _rule(api, world, conditions, actions, **extra):
    body = {"name": "r", "conditions": conditions, "actions": actions, **extra}
    response = api.post(_url(world), body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _contains(text, field="description"):
    return [{"field": field, "op": "contains", "value": text}]


def _tx(api, world, account, **extra):
    data = {"account": account.pk, "occurred_on": "2024-03-05", "amount": "-9.99", **extra}
    response = api.post(f"{base(world)}/transactions/", data, format="json")
    assert response.status_code == 201, response.json()
    return Transaction.objects.get(pk=response.json()["id"])


@pytest.fixture
def account(world):
    return AccountFactory(organization=world.org, currency="EUR")


@pytest.fixture
def api(world):
    return client_for(world.member)


def test_rules_are_ordered_versioned_and_audited(world, api):
    food = CategoryFactory(organization=world.org)
    first = _rule(api, world, _contains("a"), {"category": food.pk})
    second = _rule(api, world, _contains("b"), {"category": food.pk}, position=0)
    listed = api.get(_url(world)).json()["results"]
    assert [r["id"] for r in listed] == [second["id"], first["id"]]
    stale = api.patch(
        _url(world, f"{first['id']}/"), {"position": 0}, format="json", HTTP_IF_MATCH='"1-0"'
    )
    assert_error(stale, 412, "version_conflict")
    moved = api.patch(
        _url(world, f"{first['id']}/"),
        {"position": 0},
        format="json",
        HTTP_IF_MATCH=f'"{first["id"]}-1"',
    )
    assert moved.status_code == 200, moved.json()
    assert moved["ETag"] == f'"{first["id"]}-2"'
    listed = api.get(_url(world)).json()["results"]
    assert [r["id"] for r in listed] == [first["id"], second["id"]]
    audit = client_for(world.admin).get(f"{base(world)}/audit/", {"object_type": "rule"})
    assert {e["object_id"] for e in audit.json()["results"]} == {first["id"], second["id"]}


def test_other_organisations_category_is_invalid_reference(world, api):
    theirs = CategoryFactory(organization=world.other_org)
    body = {"name": "r", "conditions": _contains("x"), "actions": {"category": theirs.pk}}
    error = assert_error(api.post(_url(world), body, format="json"), 422, "invalid_reference")
    assert error["fields"]["actions.category"][0]["code"] == "not_found"
    assert not Rule.objects.exists()


NOTES = {"notes": "x"}
BAD_REGEX = [{"field": "description", "op": "regex", "value": "("}]
BAD_FIELD = [{"field": "colour", "op": "equals", "value": "red"}]
BAD_AMOUNT = [{"field": "amount", "op": "between", "value": {"min": "1.5x"}}]


@pytest.mark.parametrize(
    ("conditions", "actions", "field"),
    [
        (BAD_REGEX, NOTES, "conditions.0.value"),
        (BAD_FIELD, NOTES, "conditions.0.field"),
        (BAD_AMOUNT, NOTES, "conditions.0.value.min"),
        ([], NOTES, "conditions"),
        (_contains("x"), {}, "actions"),
        (_contains("x"), {"transfer_to": 1}, "actions"),
    ],
)
def test_bad_rules_are_422(world, api, conditions, actions, field):
    body = {"name": "r", "conditions": conditions, "actions": actions}
    error = assert_error(api.post(_url(world), body, format="json"), 422, "rule_invalid")
    assert field in error["fields"]


def test_split_percentages_must_add_up(world, api):
    a, b = CategoryFactory(organization=world.org), CategoryFactory(organization=world.org)
    split = [{"category": a.pk, "percent": "60"}, {"category": b.pk, "percent": "30"}]
    body = {"name": "r", "conditions": _contains("x"), "actions": {"split": split}}
    assert_error(api.post(_url(world), body, format="json"), 422, "rule_invalid")


def test_first_rule_wins_and_the_users_category_wins(world, api, account):
    rent, other = CategoryFactory(organization=world.org), CategoryFactory(organization=world.org)
    _rule(api, world, _contains("rent"), {"category": rent.pk, "tags": ["home"]})
    _rule(api, world, _contains("ren"), {"category": other.pk, "notes": "monthly"})
    tx = _tx(api, world, account, description="RENT March")
    assert (tx.category_id, tx.notes) == (rent.pk, "monthly")
    assert [t.name for t in tx.tags.all()] == ["home"]
    mine = _tx(api, world, account, description="Rent", category=other.pk)
    assert mine.category_id == other.pk


def test_split_action_splits_by_percentage(world, api, account):
    a, b = CategoryFactory(organization=world.org), CategoryFactory(organization=world.org)
    split = [{"category": a.pk, "percent": "33.33"}, {"category": b.pk, "percent": "66.67"}]
    _rule(api, world, _contains("shop"), {"split": split})
    tx = _tx(api, world, account, description="shop", amount="-10.00")
    lines = [(s.category_id, s.amount) for s in tx.splits.all()]
    assert lines == [(a.pk, Decimal("-3.33")), (b.pk, Decimal("-6.67"))]


def test_conditions_on_amount_direction_account_currency_and_dates(world, api, account):
    cat = CategoryFactory(organization=world.org)
    conditions = [
        {"field": "amount", "op": "between", "value": {"min": "-50", "max": "-5"}},
        {"field": "direction", "op": "equals", "value": "out"},
        {"field": "account", "op": "equals", "value": account.pk},
        {"field": "currency", "op": "equals", "value": "EUR"},
        {"field": "date", "op": "between", "value": {"from": "2024-03-01", "to": "2024-03-31"}},
    ]
    _rule(api, world, conditions, {"category": cat.pk})
    assert _tx(api, world, account, amount="-9.99").category_id == cat.pk
    assert _tx(api, world, account, amount="-99.99").category_id is None
    assert _tx(api, world, account, occurred_on="2024-04-01").category_id is None


def test_rules_apply_on_import(world, api, account):
    subs = CategoryFactory(organization=world.org)
    _rule(api, world, _contains("netflix", "payee"), {"category": subs.pk, "tags": ["tv"]})
    data = b"Date,Amount,Payee,Description\n2024-03-01,-12.99,NETFLIX.COM,Subscription\n"
    data += b"2024-03-02,-3.00,Bakery,Bread\n"
    ctx = OrgContext(world.org, Role.OWNER, world.owner, None)
    job = import_job_create(ctx=ctx, file=upload("bank.csv", data), account=account.pk)
    import_job_run(job_id=job.pk)
    rows = {t.description: t for t in Transaction.objects.filter(account=account)}
    assert rows["Subscription"].category_id == subs.pk
    assert [t.name for t in rows["Subscription"].tags.all()] == ["tv"]
    assert (rows["Subscription"].has_tags, rows["Bread"].has_tags) == (True, False)
    assert rows["Bread"].category_id is None
    assert rows["Bread"].tags.count() == 0


def test_rules_leave_a_files_duplicate_rows_alone(world, api, account):
    """A row the ledger already holds is not imported: the rule tags the new row beside it, not
    the transaction the earlier file wrote (nothing written to it, no audit row)."""
    ctx = OrgContext(world.org, Role.OWNER, world.owner, None)
    first = b"Date,Amount,Payee,Description\n2024-03-01,-12.99,NETFLIX.COM,Subscription\n"
    import_job_run(
        job_id=import_job_create(ctx=ctx, file=upload("a.csv", first), account=account.pk).pk
    )
    held = Transaction.objects.get(account=account)
    _rule(api, world, _contains("netflix", "payee"), {"tags": ["tv"]})
    again = first + b"2024-04-01,-12.99,NETFLIX.COM,Subscription April\n"
    job = import_job_create(ctx=ctx, file=upload("b.csv", again), account=account.pk)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.created_count, job.duplicate_count) == (1, 1)
    new = Transaction.objects.get(account=account, description="Subscription April")
    assert [t.name for t in new.tags.all()] == ["tv"]
    held.refresh_from_db()
    assert (held.tags.count(), held.has_tags, held.history.count()) == (0, False, 1)


def test_a_catastrophic_regex_is_stopped_by_its_time_limit(world, api, account):
    cat = CategoryFactory(organization=world.org)
    rule = _rule(
        api,
        world,
        [{"field": "description", "op": "regex", "value": "^(a|aa)+$"}],
        {"category": cat.pk},
    )
    for _ in range(5):
        Transaction.objects.create(
            organization=world.org, account=account, occurred_on=date(2024, 3, 1),
            amount=Decimal("-1"), currency="EUR", description="a" * 40 + "!",
        )  # fmt: skip
    started = time.monotonic()
    response = api.post(_url(world, f"{rule['id']}/preview/"), {}, format="json")
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.json()
    assert response.json()["regex_timeouts"] >= 1
    assert response.json()["would_change"] == 0
    assert elapsed < 5  # unbounded, this pattern runs for hours on 40 characters


def test_tags_of_rules_exist_once(world, api, account):
    _rule(api, world, _contains("x"), {"tags": ["a", "a "]})
    _tx(api, world, account, description="x")
    _tx(api, world, account, description="x")
    assert Tag.objects.filter(organization=world.org).count() == 1


def test_permissions_and_isolation(world):
    body = {"name": "r", "conditions": _contains("x"), "actions": {"notes": "n"}}
    assert client_for(world.viewer).post(_url(world), body, format="json").status_code == 403
    assert client_for(world.outsider).get(_url(world)).status_code == 404
    assert client_for(None).get(_url(world)).status_code == 401
