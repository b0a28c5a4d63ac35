"""/rules/{id}/preview/ and /apply/: a preview counts exactly what the worker's run changes;
closed periods and transfer legs are left alone; a run is undone as one batch."""

from datetime import date
from decimal import Decimal

import pytest

from kore.core.testing import assert_error, client_for, wait_until
from kore.ledger.models import Transaction
from kore.ledger.services.periods import lock_date_set
from kore.ledger.services.transfers import transfer_create
from kore.ledger.tests.factories import AccountFactory, CategoryFactory, base
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext
from kore.payees.models import RuleRun

pytestmark = pytest.mark.django_db(transaction=True)


def _row(world, account, description, on=date(2024, 3, 5), **extra):
    return Transaction.objects.create(
        organization=world.org, account=account, occurred_on=on, amount=Decimal("-5"),
        currency="EUR", description=description, **extra,
    )  # fmt: skip


def _rule(api, world, actions, text="coffee"):
    body = {
        "name": "coffee",
        "conditions": [{"field": "description", "op": "contains", "value": text}],
        "actions": actions,
    }
    response = api.post(f"{base(world)}/rules/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _apply(api, world, rule_id, body=None):
    response = api.post(f"{base(world)}/rules/{rule_id}/apply/", body or {}, format="json")
    assert response.status_code == 202, response.json()
    run_id = response.json()["id"]
    return wait_until(
        lambda: RuleRun.objects.filter(pk=run_id, status__in=("done", "failed")).first(),
        timeout=60,
        what="the rule run to finish",
    )


def test_preview_equals_apply_and_undo_puts_it_back(celery_worker, world):
    api = client_for(world.member)
    account = AccountFactory(organization=world.org)
    cafe = CategoryFactory(organization=world.org)
    mine = CategoryFactory(organization=world.org)
    rows = [_row(world, account, f"Coffee {i}") for i in range(30)]
    chosen = _row(world, account, "coffee beans", category=mine)
    _row(world, account, "Tea")
    rule_id = _rule(api, world, {"category": cafe.pk, "tags": ["drinks"]})
    preview = api.post(f"{base(world)}/rules/{rule_id}/preview/", {}, format="json").json()
    assert (preview["matched"], preview["would_change"]) == (31, 31)  # beans: the tag only
    assert Transaction.objects.filter(category=cafe).count() == 0  # nothing written
    run = _apply(api, world, rule_id)
    assert (run.status, run.changed_count) == ("done", preview["would_change"])
    assert {c["id"] for c in run.changes} == {r["id"] for r in preview["rows"]}
    assert Transaction.objects.filter(category=cafe).count() == len(rows)
    chosen.refresh_from_db()
    assert chosen.category_id == mine.pk  # the user's category wins
    audit = client_for(world.admin).get(f"{base(world)}/audit/", {"object_type": "transaction"})
    batch = [e for e in audit.json()["results"] if e["request_id"] == run.batch]
    assert len(batch) == 31
    undone = api.post(f"{base(world)}/rule-runs/{run.pk}/undo/", format="json")
    assert undone.status_code == 200, undone.json()
    assert undone.json()["status"] == "undone"
    assert Transaction.objects.filter(category=cafe).count() == 0
    assert Transaction.objects.filter(tags__name="drinks").count() == 0
    again = api.post(f"{base(world)}/rule-runs/{run.pk}/undo/", format="json")
    assert_error(again, 409, "rule_run_not_undoable")


def test_closed_period_and_transfer_legs_are_left_alone(celery_worker, world):
    api = client_for(world.member)
    ctx = OrgContext(world.org, Role.OWNER, world.owner, None)
    a, b = AccountFactory(organization=world.org), AccountFactory(organization=world.org)
    cafe = CategoryFactory(organization=world.org)
    old = _row(world, a, "coffee old", on=date(2024, 1, 5))
    transfer = transfer_create(ctx=ctx, from_account=a.pk, to_account=b.pk,
                               amount=Decimal("5"), occurred_on=date(2024, 3, 1),
                               description="coffee fund")  # fmt: skip
    fresh = _row(world, a, "coffee new")
    lock_date_set(ctx=ctx, lock_date=date(2024, 1, 31))
    rule_id = _rule(api, world, {"category": cafe.pk})
    preview = api.post(f"{base(world)}/rules/{rule_id}/preview/", {}, format="json").json()
    assert preview["skipped_closed_period"] == 1
    assert preview["skipped_transfer_category"] == 2
    assert [r["id"] for r in preview["rows"]] == [fresh.pk]
    run = _apply(api, world, rule_id)
    assert run.changed_count == 1
    old.refresh_from_db()
    assert old.category_id is None
    assert not Transaction.objects.filter(transfer=transfer, category__isnull=False).exists()


def test_apply_to_a_filter_only(celery_worker, world):
    api = client_for(world.member)
    a, b = AccountFactory(organization=world.org), AccountFactory(organization=world.org)
    cafe = CategoryFactory(organization=world.org)
    _row(world, a, "coffee")
    _row(world, b, "coffee")
    rule_id = _rule(api, world, {"category": cafe.pk})
    run = _apply(api, world, rule_id, {"filter": {"account": str(a.pk)}})
    assert run.changed_count == 1
    assert Transaction.objects.get(category=cafe).account_id == a.pk


def test_other_organisations_rule_and_run_are_404(world):
    api = client_for(world.outsider)
    assert api.post(f"{base(world)}/rules/1/preview/", {}, format="json").status_code == 404
