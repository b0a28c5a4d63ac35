"""/orgs/{slug}/exchange-rates/: list, set (a second rate for the day replaces it), delete."""

from datetime import date
from decimal import Decimal

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.fx.models import ExchangeRate


def _url(world, rest=""):
    return f"/api/v1/orgs/{world.org.slug}/exchange-rates/{rest}"


def _set(api, world, **body):
    rate = {"base": "EUR", "quote": "USD", "date": "2026-03-02", "rate": "1.0850"} | body
    return api.post(_url(world), rate, format="json")


def test_member_sets_a_rate_and_everyone_lists_it(world):
    response = _set(client_for(world.member), world)
    assert response.status_code == 201, response.json()
    assert response.json()["rate"] == "1.085"
    body = client_for(world.viewer).get(_url(world)).json()
    rows = [(r["base"], r["quote"], r["date"], r["rate"], r["source"]) for r in body["results"]]
    assert rows == [("EUR", "USD", "2026-03-02", "1.085", "manual")]
    assert body["next_cursor"] is None


def test_a_second_rate_for_the_day_replaces_the_first_and_is_audited(world):
    api = client_for(world.member)
    first = _set(api, world).json()
    again = _set(api, world, rate="1.0900")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    row = ExchangeRate.objects.get(pk=first["id"])
    assert row.rate == Decimal("1.09")
    history = list(row.history.order_by("history_id").values_list("rate", "history_type"))
    assert history == [(Decimal("1.085"), "+"), (Decimal("1.09"), "~")]


@pytest.mark.parametrize("rate", ["0", "-1.5", "0.0000009", "1000000.01"])
def test_zero_negative_or_absurd_rate_is_a_422(world, rate):
    response = _set(client_for(world.member), world, rate=rate)
    error = assert_error(response, 422, "rate_out_of_range")
    assert list(error["fields"]) == ["rate"]
    assert not ExchangeRate.objects.exists()


def test_the_range_ends_are_accepted(world):
    api = client_for(world.member)
    assert _set(api, world, rate="0.000001").status_code == 201
    assert _set(api, world, rate="1000000", date="2026-03-03").status_code == 201


def test_unknown_currency_is_a_422_naming_the_field(world):
    response = _set(client_for(world.member), world, quote="ZZZ")
    error = assert_error(response, 422, "currency_unknown")
    assert list(error["fields"]) == ["quote"]


def test_one_currency_on_both_sides_is_a_422(world):
    assert_error(_set(client_for(world.member), world, quote="EUR"), 422, "same_currency")


def test_a_number_rate_is_a_400(world):
    assert_error(_set(client_for(world.member), world, rate=1.085), 400, "invalid_type")


def test_viewer_cannot_set_a_rate(world):
    assert_error(_set(client_for(world.viewer), world), 403, "permission_denied")


def test_wrong_method_is_a_405(world):
    assert_error(client_for(world.member).put(_url(world), {}, format="json"), 405)


def test_member_deletes_a_rate(world):
    api = client_for(world.member)
    rate_id = _set(api, world).json()["id"]
    assert api.delete(_url(world, f"{rate_id}/")).status_code == 204
    assert not ExchangeRate.objects.exists()
    assert_error(api.delete(_url(world, f"{rate_id}/")), 404, "not_found")


def test_another_organisations_rate_is_a_404(world):
    other = ExchangeRate.objects.create(
        organization=world.other_org, base="EUR", quote="USD", date=date(2026, 3, 2), rate=2
    )
    assert_error(client_for(world.member).delete(_url(world, f"{other.pk}/")), 404, "not_found")
    assert client_for(world.member).get(_url(world)).json()["results"] == []
    assert_other_org_is_404(world.outsider, "get", _url(world))


def test_list_filters_and_pages_by_keyset(world, django_assert_max_num_queries):
    api = client_for(world.member)
    for day in range(1, 6):
        _set(api, world, date=f"2026-03-0{day}", rate=f"1.0{day}")
    _set(api, world, quote="JPY", rate="160")
    seen = []
    cursor = None
    while True:
        params = {"quote": "USD", "limit": 2} | ({"cursor": cursor} if cursor else {})
        with django_assert_max_num_queries(8):
            body = api.get(_url(world), params).json()
        seen += [r["date"] for r in body["results"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"2026-03-0{day}" for day in (5, 4, 3, 2, 1)]


def test_unknown_list_parameter_is_a_400(world):
    assert_error(client_for(world.member).get(_url(world), {"pair": "x"}), 400)
