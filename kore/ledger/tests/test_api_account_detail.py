"""GET/PATCH/DELETE /accounts/{id}/: read, change (If-Match), archive and delete."""

from datetime import date
from decimal import Decimal

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Account, Statement, Transaction
from kore.ledger.tests.factories import AccountFactory, base


def _url(world, account):
    return f"{base(world)}/accounts/{account.pk}/"


def _tx(world, account, amount="-1.00"):
    return Transaction.objects.create(
        organization=world.org, account=account, occurred_on=date(2026, 1, 5),
        amount=Decimal(amount), currency=account.currency,
    )  # fmt: skip


def test_get_returns_account_and_etag(world):
    account = AccountFactory(organization=world.org, name="Main", opening_balance="3.1")
    response = client_for(world.viewer).get(_url(world, account))
    assert response.status_code == 200
    assert response.json()["name"] == "Main"
    assert response.json()["opening_balance"] == "3.10"
    assert response["ETag"] == f'"{account.pk}-1"'


def test_missing_account_is_404(world):
    response = client_for(world.member).get(f"{base(world)}/accounts/999999999/")
    assert_error(response, 404, "not_found")


def test_patch_renames_and_bumps_version_and_etag(world):
    account = AccountFactory(organization=world.org, name="Old")
    api = client_for(world.member)
    etag = api.get(_url(world, account))["ETag"]
    response = api.patch(
        _url(world, account), {"name": "New", "kind": "card"}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "New"
    assert response.json()["kind"] == "card"
    assert response.json()["version"] == 2
    assert response["ETag"] == f'"{account.pk}-2"'
    account.refresh_from_db()
    assert (account.name, account.kind, account.version) == ("New", "card", 2)


def test_patch_with_stale_if_match_is_412_and_changes_nothing(world):
    account = AccountFactory(organization=world.org, name="Old")
    api = client_for(world.member)
    stale = api.get(_url(world, account))["ETag"]
    assert api.patch(_url(world, account), {"name": "Mid"}, format="json").status_code == 200
    response = api.patch(_url(world, account), {"name": "New"}, format="json", HTTP_IF_MATCH=stale)
    assert_error(response, 412, "version_conflict")
    account.refresh_from_db()
    assert account.name == "Mid"


def test_delete_with_stale_if_match_is_412(world):
    account = AccountFactory(organization=world.org)
    response = client_for(world.member).delete(
        _url(world, account), HTTP_IF_MATCH=f'"{account.pk}-7"'
    )
    assert_error(response, 412, "version_conflict")
    assert Account.objects.filter(pk=account.pk).exists()


def test_patch_writes_history_with_user_and_request_id(world):
    account = AccountFactory(organization=world.org, name="Old")
    response = client_for(world.admin).patch(
        _url(world, account), {"name": "Audited"}, format="json", HTTP_X_REQUEST_ID="req-abc-12345"
    )
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-abc-12345"
    row = Account.history.filter(id=account.pk).order_by("-history_date", "-history_id").first()
    assert row.history_type == "~"
    assert row.name == "Audited"
    assert row.history_user == world.admin
    assert row.request_id == response["X-Request-ID"]


def test_patch_duplicate_name_is_409(world):
    AccountFactory(organization=world.org, name="Taken")
    account = AccountFactory(organization=world.org, name="Mine")
    response = client_for(world.member).patch(
        _url(world, account), {"name": "Taken"}, format="json"
    )
    assert_error(response, 409, "account_name_taken")
    account.refresh_from_db()
    assert (account.name, account.version) == ("Mine", 1)


def test_currency_can_change_while_unused(world):
    account = AccountFactory(organization=world.org, currency="EUR", opening_balance="2.50")
    response = client_for(world.member).patch(
        _url(world, account), {"currency": "USD"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["currency"] == "USD"


def test_currency_is_locked_once_used(world):
    account = AccountFactory(organization=world.org, currency="EUR")
    _tx(world, account)
    response = client_for(world.member).patch(
        _url(world, account), {"currency": "USD"}, format="json"
    )
    assert_error(response, 409, "account_currency_locked")
    account.refresh_from_db()
    assert account.currency == "EUR"


def test_patching_the_same_currency_of_a_used_account_is_fine(world):
    account = AccountFactory(organization=world.org, currency="EUR")
    _tx(world, account)
    response = client_for(world.member).patch(
        _url(world, account), {"currency": "EUR", "name": "Same"}, format="json"
    )
    assert response.status_code == 200, response.json()


def test_currency_change_to_unknown_is_422(world):
    account = AccountFactory(organization=world.org, currency="EUR")
    response = client_for(world.member).patch(
        _url(world, account), {"currency": "XAU"}, format="json"
    )
    assert_error(response, 422, "currency_unknown")


def test_currency_change_checks_the_existing_opening_balance(world):
    account = AccountFactory(organization=world.org, currency="EUR", opening_balance="1.50")
    response = client_for(world.member).patch(
        _url(world, account), {"currency": "JPY"}, format="json"
    )
    error = assert_error(response, 422, "amount_precision")
    assert "opening_balance" in error["fields"]
    account.refresh_from_db()
    assert account.currency == "EUR"


@pytest.mark.parametrize(
    ("currency", "amount", "status"),
    [("EUR", "1.234", 422), ("JPY", "1.5", 422), ("BHD", "1.234", 200), ("EUR", "7.1", 200)],
)
def test_patch_opening_balance_precision(world, currency, amount, status):
    account = AccountFactory(organization=world.org, currency=currency)
    response = client_for(world.member).patch(
        _url(world, account), {"opening_balance": amount}, format="json"
    )
    if status == 422:
        assert_error(response, 422, "amount_precision")
        account.refresh_from_db()
        assert account.opening_balance == 0
    else:
        assert response.status_code == 200, response.json()
        account.refresh_from_db()
        assert account.opening_balance == Decimal(amount)


@pytest.mark.parametrize(
    "payload",
    [{"opening_balance": 3}, {"archived": "maybe"}, {"name": None}, {"id": 5}, {"kind": None}],
)
def test_patch_wrong_shape_is_400(world, payload):
    account = AccountFactory(organization=world.org)
    response = client_for(world.member).patch(_url(world, account), payload, format="json")
    assert_error(response, 400)
    account.refresh_from_db()
    assert account.version == 1


def test_archived_account_accepts_no_transactions_or_transfers(world):
    account = AccountFactory(organization=world.org, currency="EUR")
    other = AccountFactory(organization=world.org, currency="EUR")
    api = client_for(world.member)
    response = api.patch(_url(world, account), {"archived": True}, format="json")
    assert response.status_code == 200
    assert response.json()["archived"] is True
    tx = api.post(
        f"{base(world)}/transactions/",
        {"account": account.pk, "occurred_on": "2026-01-02", "amount": "-1.00"},
        format="json",
    )
    assert_error(tx, 409, "account_archived")
    for source, target in ((account, other), (other, account)):
        transfer = api.post(
            f"{base(world)}/transfers/",
            {"from_account": source.pk, "to_account": target.pk, "amount": "5.00",
             "occurred_on": "2026-01-02"},
            format="json",
        )  # fmt: skip
        assert_error(transfer, 409, "account_archived")
    assert not Transaction.objects.filter(organization=world.org).exists()
    # Unarchiving lets it take transactions again.
    assert api.patch(_url(world, account), {"archived": False}, format="json").status_code == 200
    again = api.post(
        f"{base(world)}/transactions/",
        {"account": account.pk, "occurred_on": "2026-01-02", "amount": "-1.00"},
        format="json",
    )
    assert again.status_code == 201, again.json()


def test_delete_unused_account(world):
    account = AccountFactory(organization=world.org)
    response = client_for(world.member).delete(_url(world, account))
    assert response.status_code == 204
    assert not Account.objects.filter(pk=account.pk).exists()


def test_delete_account_with_transactions_is_409(world):
    account = AccountFactory(organization=world.org)
    _tx(world, account)
    response = client_for(world.member).delete(_url(world, account))
    assert_error(response, 409, "account_in_use")
    assert Account.objects.filter(pk=account.pk).exists()


def test_delete_account_with_only_deleted_transactions_is_still_409(world):
    account = AccountFactory(organization=world.org)
    tx = _tx(world, account)
    client_for(world.member).delete(f"{base(world)}/transactions/{tx.pk}/")
    response = client_for(world.member).delete(_url(world, account))
    assert_error(response, 409, "account_in_use")


def test_delete_account_with_statements_is_409_not_500(world):
    account = AccountFactory(organization=world.org)
    Statement.objects.create(
        organization=world.org, account=account, end_date=date(2026, 1, 31), closing_balance=0
    )
    response = client_for(world.member).delete(_url(world, account))
    assert_error(response, 409, "account_in_use")
    assert Account.objects.filter(pk=account.pk).exists()


def test_viewer_cannot_write(world):
    account = AccountFactory(organization=world.org, name="Keep")
    api = client_for(world.viewer)
    assert api.get(_url(world, account)).status_code == 200
    assert_error(api.patch(_url(world, account), {"name": "X"}, format="json"), 403)
    assert_error(api.delete(_url(world, account)), 403, "permission_denied")
    account.refresh_from_db()
    assert account.name == "Keep"


def test_unauthenticated_is_401(world):
    account = AccountFactory(organization=world.org)
    assert_error(client_for(None).get(_url(world, account)), 401, "not_authenticated")
    assert_error(client_for(None).delete(_url(world, account)), 401, "not_authenticated")


@pytest.mark.parametrize("method", ["put", "post"])
def test_wrong_method_is_405(world, method):
    account = AccountFactory(organization=world.org)
    response = getattr(client_for(world.member), method)(_url(world, account), {}, format="json")
    assert_error(response, 405, "method_not_allowed")


def test_other_organisation_is_404(world):
    account = AccountFactory(organization=world.org, name="Mine")
    for method, data in (("get", None), ("patch", {"name": "Stolen"}), ("delete", None)):
        assert_other_org_is_404(world.outsider, method, _url(world, account), data)
        # Through the outsider's own organisation the id is unknown too.
        path = f"/api/v1/orgs/{world.other_org.slug}/accounts/{account.pk}/"
        assert_other_org_is_404(world.outsider, method, path, data)
    account.refresh_from_db()
    assert account.name == "Mine"
