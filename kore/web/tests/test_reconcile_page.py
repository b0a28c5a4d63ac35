"""The reconcile page as finance people know it: the period's rows listed, ticking clears them
and the difference follows, confirm at zero."""

import re

import pytest

from kore.core.testing import OrgWorld
from kore.ledger.models import Statement, Transaction
from kore.ledger.services.statements import statement_create, statement_reconcile

from .helpers import browser, ledger, owner_ctx


def page(world: OrgWorld, path: str) -> str:
    return f"/o/{world.org.slug}/{path}"


def _query(data, closing: str) -> dict:
    return {"account": data["account"].pk, "end_date": "2026-03-31", "closing_balance": closing}


@pytest.mark.django_db
def test_the_period_rows_are_listed_and_ticking_moves_the_difference(world: OrgWorld) -> None:
    data = ledger(world)  # 100.00 opening; -1.50, -2.50, -3.50 pending in March
    first, second, third = data["txs"]
    client = browser(world.member)
    query = _query(data, "96.00")  # the statement shows the first two
    body = client.get(page(world, "reconcile/"), query, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="difference">-4.00' in body
    assert all(f'id="tick-{t.pk}"' in body for t in data["txs"])
    assert "reconcile-confirm" not in body  # not at zero: nothing to confirm

    tick = page(world, "reconcile/tick/")
    body = client.post(
        tick, {**query, "tx": first.pk, "to": "cleared"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'id="difference">-2.50' in body
    assert re.search(rf'id="tick-{first.pk}"><td><input [^>]*checked', body)
    body = client.post(
        tick, {**query, "tx": second.pk, "to": "cleared"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'class="ok" id="difference">0.00' in body
    assert "reconcile-confirm" in body
    assert Transaction.objects.get(pk=third.pk).status == "pending"

    client.post(page(world, "reconcile/"), query)
    statement = Statement.objects.get(organization=world.org)
    assert statement.status == "reconciled"
    statuses = dict(Transaction.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "reconciled", second.pk: "reconciled", third.pk: "pending"}


@pytest.mark.django_db
def test_unticking_puts_a_row_back_to_pending(world: OrgWorld) -> None:
    data = ledger(world, count=1)
    tx = data["txs"][0]
    Transaction.objects.filter(pk=tx.pk).update(status="cleared")
    body = (
        browser(world.member)
        .post(
            page(world, "reconcile/tick/"),
            {**_query(data, "98.50"), "tx": tx.pk, "to": "pending"},
            HTTP_HX_REQUEST="true",
        )
        .content.decode()
    )
    assert 'id="difference">-1.50' in body
    assert Transaction.objects.get(pk=tx.pk).status == "pending"


@pytest.mark.django_db
def test_rows_of_a_reconciled_period_are_not_listed(world: OrgWorld) -> None:
    data = ledger(world)
    first = data["txs"][0]
    Transaction.objects.filter(pk=first.pk).update(status="cleared")
    ctx = owner_ctx(world)
    january = statement_create(ctx=ctx, account=data["account"].pk, end_date=first.occurred_on,
                               closing_balance=first.amount + 100)  # fmt: skip
    statement_reconcile(ctx=ctx, statement_id=january.pk)
    body = (
        browser(world.member)
        .get(page(world, "reconcile/"), _query(data, "90.00"), HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert f'id="tick-{first.pk}"' not in body
    assert all(f'id="tick-{t.pk}"' in body for t in data["txs"][1:])


@pytest.mark.django_db
def test_a_refused_tick_says_why_and_changes_nothing(world: OrgWorld) -> None:
    data = ledger(world, count=1)
    tx = data["txs"][0]
    world.org.lock_date = tx.occurred_on
    world.org.save()
    body = (
        browser(world.member)
        .post(
            page(world, "reconcile/tick/"),
            {**_query(data, "98.50"), "tx": tx.pk, "to": "cleared"},
            HTTP_HX_REQUEST="true",
        )
        .content.decode()
    )
    assert "locked through" in body
    assert Transaction.objects.get(pk=tx.pk).status == "pending"


@pytest.mark.django_db
def test_viewers_see_the_rows_but_cannot_tick(world: OrgWorld) -> None:
    data = ledger(world, count=1)
    tx = data["txs"][0]
    viewer = browser(world.viewer)
    body = viewer.get(
        page(world, "reconcile/"), _query(data, "98.50"), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert f'id="tick-{tx.pk}"' in body
    assert "disabled" in body
    response = viewer.post(
        page(world, "reconcile/tick/"), {**_query(data, "98.50"), "tx": tx.pk, "to": "cleared"}
    )
    assert response.status_code == 403
    assert Transaction.objects.get(pk=tx.pk).status == "pending"


@pytest.mark.django_db
@pytest.mark.parametrize("change", [{"tx": "x"}, {"to": "reconciled"}])
def test_a_malformed_tick_is_a_400(world: OrgWorld, change: dict) -> None:
    data = ledger(world, count=1)
    body = {**_query(data, "98.50"), "tx": data["txs"][0].pk, "to": "cleared", **change}
    response = browser(world.member).post(page(world, "reconcile/tick/"), body)
    assert response.status_code == 400
    assert Transaction.objects.get(pk=data["txs"][0].pk).status == "pending"
