"""GET/POST /accounts/: list and open accounts."""

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Account
from kore.ledger.tests.factories import AccountFactory, base


def _url(world):
    return f"{base(world)}/accounts/"


def test_create_account_returns_it_with_etag(world):
    response = client_for(world.member).post(
        _url(world),
        {"name": "Checking", "kind": "savings", "currency": "EUR", "opening_balance": "10.5"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Checking"
    assert body["kind"] == "savings"
    assert body["currency"] == "EUR"
    assert body["opening_balance"] == "10.50"
    assert body["archived"] is False
    assert body["version"] == 1
    assert response["ETag"] == f'"{body["id"]}-1"'
    stored = Account.objects.get(pk=body["id"])
    assert stored.organization == world.org
    assert str(stored.opening_balance) == "10.5000"


def test_defaults_kind_bank_and_zero_opening_balance(world):
    response = client_for(world.member).post(
        _url(world), {"name": "Wallet", "currency": "JPY"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "bank"
    assert response.json()["opening_balance"] == "0"


@pytest.mark.parametrize("kind", ["bank", "card", "cash", "savings", "loan", "other"])
def test_every_kind_is_accepted(world, kind):
    response = client_for(world.member).post(
        _url(world), {"name": f"A {kind}", "kind": kind, "currency": "USD"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == kind


def test_unknown_kind_is_refused(world):
    response = client_for(world.member).post(
        _url(world), {"name": "A", "kind": "crypto", "currency": "USD"}, format="json"
    )
    error = assert_error(response, 422)
    assert "kind" in error["fields"]
    assert not Account.objects.filter(organization=world.org).exists()


@pytest.mark.parametrize("currency", ["XYZ", "XAU", "XXX"])
def test_unknown_or_non_monetary_currency_is_422(world, currency):
    response = client_for(world.member).post(
        _url(world), {"name": "Gold", "currency": currency}, format="json"
    )
    error = assert_error(response, 422, "currency_unknown")
    assert error["fields"]["currency"][0]["code"] == "currency_unknown"
    assert not Account.objects.filter(organization=world.org).exists()


@pytest.mark.parametrize("currency", ["eur", "EURO", "E1R"])
def test_malformed_currency_is_400(world, currency):
    response = client_for(world.member).post(
        _url(world), {"name": "A", "currency": currency}, format="json"
    )
    error = assert_error(response, 400)
    assert "currency" in error["fields"]


@pytest.mark.parametrize(
    ("currency", "amount", "ok", "shown"),
    [
        ("EUR", "1.23", True, "1.23"),
        ("EUR", "1.234", False, None),
        ("EUR", "1.230", True, "1.23"),  # trailing zeros are not extra precision
        ("JPY", "15", True, "15"),
        ("JPY", "1.5", False, None),
        ("BHD", "1.234", True, "1.234"),
        ("BHD", "1.2345", False, None),
        ("EUR", "-250.00", True, "-250.00"),
    ],
)
def test_opening_balance_precision_follows_the_currency(world, currency, amount, ok, shown):
    response = client_for(world.member).post(
        _url(world),
        {"name": "A", "currency": currency, "opening_balance": amount},
        format="json",
    )
    if ok:
        assert response.status_code == 201, response.json()
        assert response.json()["opening_balance"] == shown
    else:
        error = assert_error(response, 422, "amount_precision")
        assert error["fields"]["opening_balance"][0]["code"] == "amount_precision"
        assert not Account.objects.filter(organization=world.org).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "A", "currency": "EUR", "opening_balance": 10.5}, "opening_balance"),
        ({"name": "A", "currency": "EUR", "opening_balance": "ten"}, "opening_balance"),
        ({"name": "A", "currency": "EUR", "opening_balance": "1e3"}, "opening_balance"),
        ({"name": 12, "currency": "EUR"}, "name"),
        ({"currency": "EUR"}, "name"),
        ({"name": "A"}, "currency"),
        ({"name": "A", "currency": "EUR", "colour": "red"}, "colour"),
        ({"name": "A", "currency": "EUR", "archived": True}, "archived"),
    ],
)
def test_wrong_shape_is_400(world, payload, field):
    response = client_for(world.member).post(_url(world), payload, format="json")
    error = assert_error(response, 400)
    assert field in error["fields"], error
    assert not Account.objects.filter(organization=world.org).exists()


def test_too_long_name_is_a_rule_422(world):
    response = client_for(world.member).post(
        _url(world), {"name": "x" * 121, "currency": "EUR"}, format="json"
    )
    error = assert_error(response, 422)
    assert error["fields"]["name"][0]["code"] == "max_length"


def test_number_for_money_has_code_invalid_type(world):
    response = client_for(world.member).post(
        _url(world), {"name": "A", "currency": "EUR", "opening_balance": 1}, format="json"
    )
    error = assert_error(response, 400, "invalid_type")
    assert error["fields"]["opening_balance"][0]["code"] == "invalid_type"


def test_unknown_field_has_code_unknown_field(world):
    response = client_for(world.member).post(
        _url(world), {"name": "A", "currency": "EUR", "colour": "red"}, format="json"
    )
    assert_error(response, 400, "unknown_field")


def test_malformed_json_is_400(world):
    response = client_for(world.member).post(
        _url(world), data='{"name": ', content_type="application/json"
    )
    assert_error(response, 400)


def test_duplicate_name_is_409(world):
    api = client_for(world.member)
    assert (
        api.post(_url(world), {"name": "Main", "currency": "EUR"}, format="json").status_code == 201
    )
    response = api.post(_url(world), {"name": "Main", "currency": "USD"}, format="json")
    assert_error(response, 409, "account_name_taken")
    assert Account.objects.filter(organization=world.org).count() == 1


def test_same_name_in_another_organisation_is_fine(world):
    AccountFactory(organization=world.other_org, name="Main")
    response = client_for(world.member).post(
        _url(world), {"name": "Main", "currency": "EUR"}, format="json"
    )
    assert response.status_code == 201, response.json()


def test_list_shows_only_this_organisation_sorted_by_name(world):
    AccountFactory(organization=world.org, name="Zed", currency="JPY", opening_balance=5)
    AccountFactory(organization=world.org, name="Alpha", currency="BHD", opening_balance="1.5")
    AccountFactory(organization=world.other_org, name="Hidden")
    response = client_for(world.viewer).get(_url(world))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["name"] for r in rows] == ["Alpha", "Zed"]
    assert [r["opening_balance"] for r in rows] == ["1.500", "5"]


def test_viewer_reads_but_cannot_create(world):
    response = client_for(world.viewer).post(
        _url(world), {"name": "A", "currency": "EUR"}, format="json"
    )
    assert_error(response, 403, "permission_denied")
    assert not Account.objects.filter(organization=world.org).exists()


def test_unauthenticated_is_401(world):
    assert_error(client_for(None).get(_url(world)), 401, "not_authenticated")
    response = client_for(None).post(_url(world), {"name": "A", "currency": "EUR"}, format="json")
    assert_error(response, 401, "not_authenticated")


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_wrong_method_is_405(world, method):
    response = getattr(client_for(world.member), method)(_url(world), {}, format="json")
    assert_error(response, 405, "method_not_allowed")


def test_other_organisation_is_404(world):
    AccountFactory(organization=world.org)
    assert_other_org_is_404(world.outsider, "get", _url(world))
    assert_other_org_is_404(world.outsider, "post", _url(world), {"name": "X", "currency": "EUR"})
    assert not Account.objects.filter(organization=world.org, name="X").exists()


def test_create_writes_history_with_user_and_request_id(world):
    response = client_for(world.member).post(
        _url(world), {"name": "Audited", "currency": "EUR"}, format="json"
    )
    assert response.status_code == 201
    rows = Account.history.filter(id=response.json()["id"])
    assert rows.count() == 1
    row = rows.get()
    assert row.history_type == "+"
    assert row.history_user == world.member
    assert row.request_id == response["X-Request-ID"]
    assert row.request_id not in ("", "-")
