"""POST /statements/{id}/reopen/: admins unlock a reconciled statement's transactions."""

from datetime import date
from decimal import Decimal

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Statement, Transaction
from kore.ledger.tests.factories import AccountFactory, base


def _url(world, statement):
    return f"{base(world)}/statements/{statement.pk}/reopen/"


@pytest.fixture
def reconciled(world):
    """A reconciled statement (through the API) with two transactions and a pending one."""
    account = AccountFactory(organization=world.org, currency="JPY", opening_balance=1000)
    txs = [
        Transaction.objects.create(
            organization=world.org,
            account=account,
            occurred_on=date(2026, 1, day),
            amount=Decimal(amount),
            currency="JPY",
            status=status,
        )
        for day, amount, status in (
            (3, "-300", "cleared"),
            (9, "50", "cleared"),
            (12, "-1", "pending"),
        )
    ]
    statement = Statement.objects.create(
        organization=world.org, account=account, end_date=date(2026, 1, 31), closing_balance=750
    )
    response = client_for(world.member).post(f"{base(world)}/statements/{statement.pk}/reconcile/")
    assert response.status_code == 200, response.json()
    statement.refresh_from_db()
    return statement, txs


def test_admin_reopens_and_transactions_become_cleared_and_editable(world, reconciled):
    statement, txs = reconciled
    response = client_for(world.admin).post(_url(world, statement))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["reconciled_at"], body["version"]) == ("open", None, 3)
    assert response["ETag"] == f'"{statement.pk}-3"'
    for tx in txs[:2]:
        tx.refresh_from_db()
        assert (tx.status, tx.statement_id, tx.version) == ("cleared", None, 3)
    txs[2].refresh_from_db()
    assert (txs[2].status, txs[2].version) == ("pending", 1)
    tx_url = f"{base(world)}/transactions/{txs[0].pk}/"
    edited = client_for(world.member).patch(tx_url, {"description": "fixed"}, format="json")
    assert edited.status_code == 200, edited.json()
    assert client_for(world.member).delete(tx_url).status_code == 204


def test_owner_may_reopen(world, reconciled):
    assert client_for(world.owner).post(_url(world, reconciled[0])).status_code == 200


def test_member_reopening_is_403(world, reconciled):
    statement, txs = reconciled
    assert_error(client_for(world.member).post(_url(world, statement)), 403, "permission_denied")
    statement.refresh_from_db()
    assert statement.status == "reconciled"
    txs[0].refresh_from_db()
    assert txs[0].status == "reconciled"


def test_viewer_reopening_is_403(world, reconciled):
    assert_error(client_for(world.viewer).post(_url(world, reconciled[0])), 403)


def test_reopening_an_open_statement_is_409(world, reconciled):
    api = client_for(world.admin)
    assert api.post(_url(world, reconciled[0])).status_code == 200
    assert_error(api.post(_url(world, reconciled[0])), 409, "statement_open")


def test_reopen_then_reconcile_again(world, reconciled):
    statement, txs = reconciled
    api = client_for(world.admin)
    assert api.post(_url(world, statement)).status_code == 200
    again = api.post(f"{base(world)}/statements/{statement.pk}/reconcile/")
    assert again.status_code == 200, again.json()
    assert set(Transaction.objects.filter(statement=statement).values_list("pk", flat=True)) == {
        txs[0].pk,
        txs[1].pk,
    }


def test_stale_if_match_is_412(world, reconciled):
    statement = reconciled[0]
    response = client_for(world.admin).post(
        _url(world, statement), HTTP_IF_MATCH=f'"{statement.pk}-1"'
    )
    assert_error(response, 412, "version_conflict")
    statement.refresh_from_db()
    assert statement.status == "reconciled"


def test_missing_statement_is_404(world):
    response = client_for(world.admin).post(f"{base(world)}/statements/999999999/reopen/")
    assert_error(response, 404, "not_found")


def test_unauthenticated_is_401(world, reconciled):
    assert_error(client_for(None).post(_url(world, reconciled[0])), 401, "not_authenticated")


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_wrong_method_is_405(world, reconciled, method):
    response = getattr(client_for(world.admin), method)(_url(world, reconciled[0]))
    assert_error(response, 405, "method_not_allowed")


def test_other_organisation_is_404(world, reconciled):
    statement = reconciled[0]
    assert_other_org_is_404(world.outsider, "post", _url(world, statement))
    path = f"/api/v1/orgs/{world.other_org.slug}/statements/{statement.pk}/reopen/"
    assert_other_org_is_404(world.outsider, "post", path)
    statement.refresh_from_db()
    assert statement.status == "reconciled"
