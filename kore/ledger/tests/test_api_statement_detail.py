"""PATCH and DELETE /statements/{id}/: an open statement entered wrong is corrected or removed;
a reconciled one is reopened first."""

from datetime import date
from decimal import Decimal

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Statement, Transaction
from kore.ledger.tests.factories import AccountFactory, base


@pytest.fixture
def statement(world):
    account = AccountFactory(organization=world.org, currency="EUR", opening_balance="100.00")
    Transaction.objects.create(
        organization=world.org, account=account, occurred_on=date(2026, 1, 5),
        amount=Decimal("-20.00"), currency="EUR", status="cleared",
    )  # fmt: skip
    return Statement.objects.create(
        organization=world.org, account=account, end_date=date(2026, 1, 31),
        closing_balance=Decimal("1580.00"),  # a typo: 80.00 was meant
    )  # fmt: skip


def _url(world, statement, action=""):
    return f"{base(world)}/statements/{statement.pk}/{action}"


@pytest.mark.django_db
def test_a_wrong_closing_balance_is_corrected_and_then_reconciles(world, statement):
    api = client_for(world.member)
    assert_error(api.post(_url(world, statement, "reconcile/")), 422, "reconciliation_mismatch")
    response = api.patch(
        _url(world, statement), {"closing_balance": "80.00"}, format="json",
        HTTP_IF_MATCH=f'"{statement.pk}-1"',
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["closing_balance"], body["version"], body["status"]) == ("80.00", 2, "open")
    assert response["ETag"] == f'"{statement.pk}-2"'
    assert api.post(_url(world, statement, "reconcile/")).status_code == 200
    assert Statement.history.filter(id=statement.pk, history_type="~").exists()


@pytest.mark.django_db
def test_the_end_date_moves(world, statement):
    response = client_for(world.member).patch(
        _url(world, statement), {"end_date": "2026-02-28"}, format="json"
    )
    assert response.json()["end_date"] == "2026-02-28"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"closing_balance": "1.234"}, 422, "closing_balance"),
        ({"closing_balance": 80}, 400, "closing_balance"),
        ({"end_date": "soon"}, 400, "end_date"),
        ({"account": 1}, 400, "account"),
    ],
)
def test_bad_corrections_name_the_field_and_change_nothing(world, statement, body, status, field):
    response = client_for(world.member).patch(_url(world, statement), body, format="json")
    error = assert_error(response, status)
    assert field in error["fields"]
    statement.refresh_from_db()
    assert (statement.closing_balance, statement.version) == (Decimal("1580.00"), 1)


@pytest.mark.django_db
def test_a_stale_etag_is_412(world, statement):
    api = client_for(world.member)
    api.patch(_url(world, statement), {"closing_balance": "80.00"}, format="json")
    stale = {"HTTP_IF_MATCH": f'"{statement.pk}-1"'}
    assert_error(
        api.patch(_url(world, statement), {"end_date": "2026-02-01"}, format="json", **stale),
        412,
        "version_conflict",
    )
    assert_error(api.delete(_url(world, statement), **stale), 412, "version_conflict")
    assert Statement.objects.filter(pk=statement.pk).exists()


@pytest.mark.django_db
def test_an_open_statement_is_deleted(world, statement):
    response = client_for(world.member).delete(_url(world, statement))
    assert response.status_code == 204
    assert not Statement.objects.filter(pk=statement.pk).exists()
    assert Statement.history.filter(id=statement.pk, history_type="-").exists()
    assert_error(client_for(world.member).get(_url(world, statement)), 404, "not_found")


@pytest.mark.django_db
def test_a_reconciled_statement_is_reopened_before_it_changes(world, statement):
    api, admin = client_for(world.member), client_for(world.admin)
    api.patch(_url(world, statement), {"closing_balance": "80.00"}, format="json")
    assert api.post(_url(world, statement, "reconcile/")).status_code == 200
    for response in (
        api.patch(_url(world, statement), {"closing_balance": "81.00"}, format="json"),
        api.delete(_url(world, statement)),
    ):
        error = assert_error(response, 409, "statement_reconciled")
        assert "reopen" in error["message"]
    assert admin.post(_url(world, statement, "reopen/")).status_code == 200
    assert api.delete(_url(world, statement)).status_code == 204
    assert Transaction.objects.filter(status="cleared", statement__isnull=True).count() == 1


@pytest.mark.django_db
def test_viewers_and_outsiders_change_nothing(world, statement):
    viewer = client_for(world.viewer)
    assert_error(
        viewer.patch(_url(world, statement), {"closing_balance": "80.00"}, format="json"),
        403,
        "permission_denied",
    )
    assert_error(viewer.delete(_url(world, statement)), 403, "permission_denied")
    assert_other_org_is_404(world.outsider, "patch", _url(world, statement), {})
    assert_other_org_is_404(world.outsider, "delete", _url(world, statement))
    assert Statement.objects.get(pk=statement.pk).version == 1
