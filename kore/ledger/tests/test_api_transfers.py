"""POST /transfers/: two linked legs in one database transaction (reading and correcting them:
test_api_transfer_detail)."""

from decimal import Decimal

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Account, Transaction, Transfer
from kore.ledger.tests.factories import AccountFactory, base


def _url(world):
    return f"{base(world)}/transfers/"


def _payload(source, target, amount="10.00", **extra):
    return {
        "from_account": source.pk, "to_account": target.pk, "amount": amount,
        "occurred_on": "2026-03-01", **extra,
    }  # fmt: skip


@pytest.fixture
def eur(world):
    return (
        AccountFactory(organization=world.org, name="Checking", currency="EUR"),
        AccountFactory(organization=world.org, name="Savings", currency="EUR"),
    )


def test_same_currency_transfer_creates_two_linked_legs(world, eur):
    source, target = eur
    response = client_for(world.member).post(
        _url(world), _payload(source, target, "25.50", description="Rent pot"), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["rate"] == "1"
    legs = {leg["account"]: leg for leg in body["legs"]}
    assert legs[source.pk]["amount"] == "-25.50"
    assert legs[target.pk]["amount"] == "25.50"
    assert {leg["transfer"] for leg in body["legs"]} == {body["id"]}
    assert {leg["description"] for leg in body["legs"]} == {"Rent pot"}
    assert {leg["created_by"] for leg in body["legs"]} == {world.member.pk}
    stored = Transaction.objects.filter(transfer_id=body["id"])
    assert sorted(stored.values_list("amount", flat=True)) == [Decimal("-25.5"), Decimal("25.5")]
    assert Transfer.objects.get(pk=body["id"]).organization == world.org
    assert len(set(stored.values_list("change_seq", flat=True))) == 1  # one ledger write
    # Each leg is audited.
    assert Transaction.history.filter(transfer_id=body["id"], history_type="+").count() == 2


def test_to_amount_equal_to_amount_is_accepted_in_the_same_currency(world, eur):
    response = client_for(world.member).post(
        _url(world), _payload(*eur, "5.00", to_amount="5"), format="json"
    )
    assert response.status_code == 201, response.json()


def test_to_amount_different_in_the_same_currency_is_422(world, eur):
    response = client_for(world.member).post(
        _url(world), _payload(*eur, "5.00", to_amount="6.00"), format="json"
    )
    assert_error(response, 422, "to_amount_mismatch")
    assert not Transaction.objects.exists()


def test_cross_currency_needs_to_amount(world):
    source = AccountFactory(organization=world.org, currency="EUR")
    target = AccountFactory(organization=world.org, currency="USD")
    response = client_for(world.member).post(_url(world), _payload(source, target), format="json")
    error = assert_error(response, 422, "to_amount_required")
    assert error["fields"]["to_amount"][0]["code"] == "to_amount_required"
    assert not Transaction.objects.exists()
    assert not Transfer.objects.exists()


@pytest.mark.parametrize(
    ("currencies", "amount", "to_amount", "rate", "shown"),
    [
        (("EUR", "USD"), "100.00", "108.37", "1.0837", "108.37"),
        (("EUR", "JPY"), "1.00", "100", "100", "100"),
        (("EUR", "JPY"), "3.00", "1000", "333.3333333333", "1000"),
        (("JPY", "BHD"), "1000", "2.512", "0.002512", "2.512"),
    ],
)
def test_cross_currency_stores_rate(world, currencies, amount, to_amount, rate, shown):
    source = AccountFactory(organization=world.org, currency=currencies[0])
    target = AccountFactory(organization=world.org, currency=currencies[1])
    response = client_for(world.member).post(
        _url(world), _payload(source, target, amount, to_amount=to_amount), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["rate"] == rate
    transfer = Transfer.objects.get(pk=body["id"])
    assert transfer.rate == (Decimal(to_amount) / Decimal(amount)).quantize(Decimal("1e-10"))
    legs = {leg["account"]: leg for leg in body["legs"]}
    assert legs[source.pk]["currency"] == currencies[0]
    assert legs[target.pk]["currency"] == currencies[1]
    assert legs[target.pk]["amount"] == shown
    assert Decimal(legs[source.pk]["amount"]) == -Decimal(amount)


def test_precision_is_checked_per_leg_currency(world):
    source = AccountFactory(organization=world.org, currency="EUR")
    target = AccountFactory(organization=world.org, currency="JPY")
    api = client_for(world.member)
    bad_from = api.post(
        _url(world), _payload(source, target, "1.001", to_amount="100"), format="json"
    )
    assert assert_error(bad_from, 422, "amount_precision")["fields"].keys() == {"amount"}
    bad_to = api.post(
        _url(world), _payload(source, target, "1.00", to_amount="100.5"), format="json"
    )
    assert assert_error(bad_to, 422, "amount_precision")["fields"].keys() == {"to_amount"}
    assert not Transaction.objects.exists()


def test_same_account_is_422(world, eur):
    response = client_for(world.member).post(_url(world), _payload(eur[0], eur[0]), format="json")
    assert_error(response, 422, "same_account")
    assert not Transaction.objects.exists()


@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00"])
def test_amount_must_be_positive(world, eur, amount):
    response = client_for(world.member).post(_url(world), _payload(*eur, amount), format="json")
    assert_error(response, 422, "amount_not_positive")


@pytest.mark.parametrize("side", ["from_account", "to_account"])
def test_another_organisations_account_is_422_not_found(world, eur, side):
    foreign = AccountFactory(organization=world.other_org, currency="EUR", name="Secret")
    payload = _payload(*eur)
    payload[side] = foreign.pk
    response = client_for(world.member).post(_url(world), payload, format="json")
    error = assert_error(response, 422)
    assert error["fields"][side][0]["code"] == "not_found"
    assert "Secret" not in response.content.decode()
    assert not Transaction.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 10}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"to_amount": 10.0}, "to_amount"),
        ({"from_account": "first"}, "from_account"),
        ({"occurred_on": "yesterday"}, "occurred_on"),
        ({"rate": "1.2"}, "rate"),
        ({"description": 7}, "description"),
    ],
)
def test_wrong_shape_is_400(world, eur, change, field):
    response = client_for(world.member).post(_url(world), _payload(*eur) | change, format="json")
    error = assert_error(response, 400)
    assert field in error["fields"]
    assert not Transaction.objects.exists()


@pytest.mark.parametrize("missing", ["from_account", "to_account", "amount", "occurred_on"])
def test_required_fields(world, eur, missing):
    payload = _payload(*eur)
    del payload[missing]
    error = assert_error(client_for(world.member).post(_url(world), payload, format="json"), 400)
    assert error["fields"][missing][0]["code"] == "required"


def test_deleting_one_leg_deletes_both_and_restore_brings_both_back(world, eur):
    api = client_for(world.member)
    body = api.post(_url(world), _payload(*eur, "7.00"), format="json").json()
    first, second = (leg["id"] for leg in body["legs"])
    response = api.delete(f"{base(world)}/transactions/{second}/")
    assert response.status_code == 204
    legs = Transaction.objects.filter(transfer_id=body["id"])
    assert all(leg.deleted_at is not None for leg in legs)
    listed = api.get(f"{base(world)}/transactions/").json()["results"]
    assert listed == []
    restored = api.post(f"{base(world)}/transactions/{first}/restore/")
    assert restored.status_code == 200, restored.json()
    assert all(leg.deleted_at is None for leg in legs.all())
    listed = api.get(f"{base(world)}/transactions/").json()["results"]
    assert sorted(row["id"] for row in listed) == sorted([first, second])


def test_a_leg_cannot_change_amount_or_account(world, eur):
    api = client_for(world.member)
    body = api.post(_url(world), _payload(*eur, "7.00"), format="json").json()
    leg = body["legs"][0]["id"]
    response = api.patch(f"{base(world)}/transactions/{leg}/", {"amount": "-1.00"}, format="json")
    assert_error(response, 409, "transfer_leg")
    ok = api.patch(f"{base(world)}/transactions/{leg}/", {"description": "x"}, format="json")
    assert ok.status_code == 200


def test_idempotency_key_replays_instead_of_moving_twice(world, eur):
    api = client_for(world.member)
    first = api.post(_url(world), _payload(*eur), format="json", HTTP_IDEMPOTENCY_KEY="move-1")
    again = api.post(_url(world), _payload(*eur), format="json", HTTP_IDEMPOTENCY_KEY="move-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert Transfer.objects.count() == 1
    assert Transaction.objects.count() == 2


def test_viewer_cannot_transfer(world, eur):
    response = client_for(world.viewer).post(_url(world), _payload(*eur), format="json")
    assert_error(response, 403, "permission_denied")
    assert not Transaction.objects.exists()


def test_unauthenticated_is_401(world, eur):
    response = client_for(None).post(_url(world), _payload(*eur), format="json")
    assert_error(response, 401, "not_authenticated")


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_wrong_method_is_405(world, method):
    response = getattr(client_for(world.member), method)(_url(world), {}, format="json")
    assert_error(response, 405, "method_not_allowed")


def test_other_organisation_is_404(world, eur):
    assert_other_org_is_404(world.outsider, "post", _url(world), _payload(*eur))
    assert not Transaction.objects.exists()


def _totals(org):
    live = Transaction.objects.filter(organization=org, deleted_at__isnull=True)
    sums = dict(live.values_list("currency").annotate(s=Sum("amount")).values_list("currency", "s"))
    for account in Account.objects.filter(organization=org):
        sums[account.currency] = sums.get(account.currency, Decimal(0)) + account.opening_balance
    return sums


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    moves=st.lists(
        st.tuples(
            st.sampled_from(["EUR", "JPY", "BHD"]),
            st.integers(min_value=0, max_value=2),
            st.integers(min_value=0, max_value=2),
            st.integers(min_value=1, max_value=10**9),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_same_currency_transfers_keep_each_currency_total(world, moves):
    accounts = {}
    for currency in ("EUR", "JPY", "BHD"):
        accounts[currency] = [
            Account.objects.get_or_create(
                organization=world.org, name=f"{currency}{i}",
                defaults={"currency": currency, "opening_balance": Decimal(i * 7)},
            )[0]
            for i in range(3)
        ]  # fmt: skip
    api = client_for(world.member)
    before = _totals(world.org)
    made = 0
    for currency, i, j, minor in moves:
        places = {"EUR": 2, "JPY": 0, "BHD": 3}[currency]
        amount = str(Decimal(minor).scaleb(-places))
        source, target = accounts[currency][i], accounts[currency][j]
        response = api.post(_url(world), _payload(source, target, amount), format="json")
        if i == j:
            assert_error(response, 422, "same_account")
            continue
        assert response.status_code == 201, response.json()
        assert sum(Decimal(leg["amount"]) for leg in response.json()["legs"]) == 0
        made += 1
    assert _totals(world.org) == before
    assert Transfer.objects.filter(organization=world.org).count() >= made
