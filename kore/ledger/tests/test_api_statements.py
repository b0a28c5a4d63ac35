"""GET/POST /statements/ and GET /statements/{id}/ (PATCH and DELETE: test_api_statement_detail)."""

from datetime import date

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Statement
from kore.ledger.tests.factories import AccountFactory, base


def _url(world):
    return f"{base(world)}/statements/"


def _payload(account, closing="100.00", end="2026-01-31"):
    return {"account": account.pk, "end_date": end, "closing_balance": closing}


def test_create_statement(world):
    account = AccountFactory(organization=world.org, currency="EUR")
    response = client_for(world.member).post(_url(world), _payload(account, "12.5"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["account"] == account.pk
    assert body["end_date"] == "2026-01-31"
    assert body["closing_balance"] == "12.50"
    assert body["status"] == "open"
    assert body["reconciled_at"] is None
    assert response["ETag"] == f'"{body["id"]}-1"'
    assert Statement.objects.get(pk=body["id"]).organization == world.org


@pytest.mark.parametrize(
    ("currency", "closing", "ok"),
    [("EUR", "1.234", False), ("JPY", "1.5", False), ("BHD", "1.234", True), ("JPY", "-7", True)],
)
def test_closing_balance_precision(world, currency, closing, ok):
    account = AccountFactory(organization=world.org, currency=currency)
    response = client_for(world.member).post(_url(world), _payload(account, closing), format="json")
    if ok:
        assert response.status_code == 201, response.json()
    else:
        error = assert_error(response, 422, "amount_precision")
        assert error["fields"]["closing_balance"][0]["code"] == "amount_precision"
        assert not Statement.objects.exists()


def test_another_organisations_account_is_422_not_found(world):
    foreign = AccountFactory(organization=world.other_org)
    response = client_for(world.member).post(_url(world), _payload(foreign), format="json")
    error = assert_error(response, 422)
    assert error["fields"]["account"][0]["code"] == "not_found"
    assert not Statement.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"closing_balance": 100}, "closing_balance"),
        ({"closing_balance": "lots"}, "closing_balance"),
        ({"end_date": "31/01/2026"}, "end_date"),
        ({"account": "main"}, "account"),
        ({"status": "reconciled"}, "status"),
    ],
)
def test_wrong_shape_is_400(world, change, field):
    account = AccountFactory(organization=world.org)
    response = client_for(world.member).post(_url(world), _payload(account) | change, format="json")
    error = assert_error(response, 400)
    assert field in error["fields"]
    assert not Statement.objects.exists()


def test_list_and_detail(world):
    account = AccountFactory(organization=world.org, currency="JPY")
    older = Statement.objects.create(
        organization=world.org, account=account, end_date=date(2026, 1, 31), closing_balance=5
    )
    newer = Statement.objects.create(
        organization=world.org, account=account, end_date=date(2026, 2, 28), closing_balance=9
    )
    foreign = Statement.objects.create(
        organization=world.other_org, account=AccountFactory(organization=world.other_org),
        end_date=date(2026, 1, 31), closing_balance=0,
    )  # fmt: skip
    api = client_for(world.viewer)
    listed = api.get(_url(world))
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()["results"]] == [newer.pk, older.pk]
    assert listed.json()["results"][0]["closing_balance"] == "9"
    detail = api.get(f"{_url(world)}{older.pk}/")
    assert detail.status_code == 200
    assert detail.json()["closing_balance"] == "5"
    assert detail["ETag"] == f'"{older.pk}-1"'
    assert_error(api.get(f"{_url(world)}{foreign.pk}/"), 404, "not_found")


def test_viewer_cannot_create(world):
    account = AccountFactory(organization=world.org)
    response = client_for(world.viewer).post(_url(world), _payload(account), format="json")
    assert_error(response, 403, "permission_denied")
    assert not Statement.objects.exists()


def test_unauthenticated_is_401(world):
    account = AccountFactory(organization=world.org)
    assert_error(client_for(None).get(_url(world)), 401, "not_authenticated")
    response = client_for(None).post(_url(world), _payload(account), format="json")
    assert_error(response, 401, "not_authenticated")


@pytest.mark.parametrize(
    ("method", "detail"),
    [("put", False), ("delete", False), ("put", True), ("post", True)],
)
def test_wrong_method_is_405(world, method, detail):
    account = AccountFactory(organization=world.org)
    statement = Statement.objects.create(
        organization=world.org, account=account, end_date=date(2026, 1, 31), closing_balance=0
    )
    path = f"{_url(world)}{statement.pk}/" if detail else _url(world)
    response = getattr(client_for(world.admin), method)(path, {}, format="json")
    assert_error(response, 405, "method_not_allowed")
    assert Statement.objects.filter(pk=statement.pk).exists()


def test_other_organisation_is_404(world):
    account = AccountFactory(organization=world.org)
    statement = Statement.objects.create(
        organization=world.org, account=account, end_date=date(2026, 1, 31), closing_balance=0
    )
    assert_other_org_is_404(world.outsider, "get", _url(world))
    assert_other_org_is_404(world.outsider, "post", _url(world), _payload(account))
    assert_other_org_is_404(world.outsider, "get", f"{_url(world)}{statement.pk}/")
    path = f"/api/v1/orgs/{world.other_org.slug}/statements/{statement.pk}/"
    assert_other_org_is_404(world.outsider, "get", path)
    assert Statement.objects.count() == 1
