"""Reports in one currency: EUR, USD (2 decimals) and JPY (0), against sums done by hand.

Rates (per euro): USD 1.25 from 2026-03-02 and 1.10 from 2026-03-10; JPY 160 from 2026-03-02
and 150 from 2026-03-10. Rates may be 5 days old.
"""

from decimal import Decimal

import pytest

from kore.core.testing import assert_error, client_for
from kore.ledger.models import Account, Category

D = Decimal


def _base(world):
    return f"/api/v1/orgs/{world.org.slug}"


def _tx(api, world, account, amount, day, **extra):
    body = {"account": account.pk, "occurred_on": day, "amount": amount, "status": "cleared"}
    response = api.post(f"{_base(world)}/transactions/", body | extra, format="json")
    assert response.status_code == 201, response.json()


def _rates(api, world, rows):
    for quote, day, rate in rows:
        body = {"base": "EUR", "quote": quote, "date": day, "rate": rate}
        assert api.post(f"{_base(world)}/exchange-rates/", body, format="json").status_code == 201


@pytest.fixture
def books(world):
    world.org.default_currency = "EUR"
    world.org.max_rate_age_days = 5
    world.org.save()
    eur = Account.objects.create(
        organization=world.org, name="EUR bank", currency="EUR", opening_balance=D("100")
    )
    usd = Account.objects.create(organization=world.org, name="USD card", currency="USD")
    jpy = Account.objects.create(organization=world.org, name="JPY cash", currency="JPY")
    food = Category.objects.create(organization=world.org, name="Food", kind="expense")
    api = client_for(world.member)
    _rates(api, world, [
        ("USD", "2026-03-02", "1.25"), ("USD", "2026-03-10", "1.10"),
        ("JPY", "2026-03-02", "160"), ("JPY", "2026-03-10", "150"),
    ])  # fmt: skip
    _tx(api, world, usd, "-10.00", "2026-03-03", category=food.pk)  # -8.00 EUR, -1280 JPY
    _tx(api, world, usd, "-3.33", "2026-03-04")  # -2.664 → -2.66 EUR; -426.24 → -426 JPY
    _tx(api, world, jpy, "-1000", "2026-03-03", category=food.pk)  # -6.25 EUR
    _tx(api, world, eur, "-5.55", "2026-03-03", category=food.pk)  # -888 JPY
    _tx(api, world, usd, "50.00", "2026-03-10")  # 45.4545… → 45.45 EUR; 6818.18… → 6818 JPY
    return api, food


def _get(api, world, report, **params):
    response = api.get(f"{_base(world)}/reports/{report}/", params)
    assert response.status_code == 200, response.json()
    return response.json()


def test_category_totals_in_eur(world, books):
    api, food = books
    body = _get(api, world, "categories", date_from="2026-03-01", date_to="2026-03-31",
                currency="EUR")  # fmt: skip
    converted = body["converted"]
    assert converted["currency"] == "EUR"
    assert converted["complete"] is True
    rows = {row["category"]: row for row in converted["rows"]}
    assert (rows[food.pk]["spending"], rows[food.pk]["total"]) == ("-19.80", "-19.80")
    assert (rows[None]["income"], rows[None]["spending"]) == ("45.45", "-2.66")
    assert rows[None]["total"] == "42.79"
    # the per-currency rows are still there, every currency visible
    assert {row["currency"] for row in body["rows"]} == {"EUR", "USD", "JPY"}


def test_cash_flow_in_eur_and_in_jpy(world, books):
    api, _ = books
    params = {"date_from": "2026-03-01", "date_to": "2026-03-31", "period": "month"}
    eur = _get(api, world, "cashflow", currency="EUR", **params)["converted"]["rows"]
    assert eur == [{
        "period": "2026-03-01", "inflow": "45.45", "outflow": "-22.46", "net": "22.99",
        "complete": True,
    }]  # fmt: skip
    jpy = _get(api, world, "cashflow", currency="JPY", **params)["converted"]["rows"]
    # outflow -1280 - 426 - 1000 - 888; USD → JPY goes through EUR (1/1.25 * 160 = 128)
    assert (jpy[0]["inflow"], jpy[0]["outflow"], jpy[0]["net"]) == ("6818", "-3594", "3224")


def test_explain_lines_add_up_to_each_figure(world, books):
    api, _ = books
    body = _get(api, world, "cashflow", date_from="2026-03-01", date_to="2026-03-31",
                currency="JPY", explain="true")  # fmt: skip
    row = body["converted"]["rows"][0]
    lines = row["explain"]
    assert sum(D(line["converted"]) for line in lines) == D(row["net"])
    usd = next(line for line in lines if line["amount"] == "-10.00")
    assert usd == {
        "amount": "-10.00", "currency": "USD", "date": "2026-03-03", "status": "converted",
        "rate": "128", "rate_date": "2026-03-02", "method": "triangulated", "via": "EUR",
        "converted": "-1280",
    }  # fmt: skip


def test_balances_at_the_day_rate_historical_and_unrealised(world, books):
    api, _ = books
    body = _get(api, world, "balances", as_of="2026-03-12", currency="EUR")["converted"]
    rows = {row["name"]: row for row in body["accounts"]}
    usd = rows["USD card"]
    assert (usd["amount"], usd["rate_date"]) == ("36.67", "2026-03-10")
    assert D(usd["rate"]) == D(1) / D("1.1")
    assert (usd["balance"], usd["historical"]) == ("33.34", "34.79")
    assert usd["unrealised_gain"] == "-1.45"
    jpy = rows["JPY cash"]
    assert (jpy["balance"], jpy["historical"]) == ("-6.67", "-6.25")
    assert jpy["unrealised_gain"] == "-0.42"
    assert rows["EUR bank"]["balance"] == "94.45"
    assert (body["total"], body["historical"]) == ("121.12", "122.99")
    assert (body["unrealised_gain"], body["realised_gain"]) == ("-1.87", "0.00")


def test_realised_gain_on_a_transfer_against_average_cost(world):
    world.org.default_currency = "EUR"
    world.org.save()
    eur = Account.objects.create(organization=world.org, name="EUR", currency="EUR")
    usd = Account.objects.create(organization=world.org, name="USD", currency="USD")
    api = client_for(world.member)
    _rates(api, world, [("USD", "2026-03-02", "1.25"), ("USD", "2026-03-10", "1.00")])
    url = f"{_base(world)}/transfers/"
    moves = [
        (eur, usd, "100.00", "120.00", "2026-03-02"),  # the transfer's rate, not the day's
        (usd, eur, "60.00", "54.00", "2026-03-10"),  # half the dollars, which cost 50.00
    ]
    for source, target, amount, to_amount, day in moves:
        body = {"from_account": source.pk, "to_account": target.pk, "amount": amount,
                "to_amount": to_amount, "occurred_on": day}  # fmt: skip
        assert api.post(url, body, format="json").status_code == 201
    body = _get(api, world, "balances", as_of="2026-03-10", currency="EUR")["converted"]
    row = {r["name"]: r for r in body["accounts"]}["USD"]
    assert (row["balance"], row["realised_gain"], row["unrealised_gain"]) == (
        "60.00", "4.00", "10.00",
    )  # fmt: skip
    assert (body["total"], body["realised_gain"], body["unrealised_gain"]) == (
        "14.00", "4.00", "10.00",
    )  # fmt: skip


def test_missing_and_stale_rates_are_listed_not_counted(world, books):
    api, _ = books
    gbp = Account.objects.create(organization=world.org, name="GBP", currency="GBP")
    usd = Account.objects.get(organization=world.org, name="USD card")
    _tx(api, world, gbp, "-1.00", "2026-03-05")  # no GBP rate at all
    _tx(api, world, usd, "-7.00", "2026-03-20")  # the last rate is 10 days old
    body = _get(api, world, "cashflow", date_from="2026-03-01", date_to="2026-03-31",
                currency="EUR")["converted"]  # fmt: skip
    assert body["complete"] is False
    assert body["unconverted"] == [
        {"currency": "GBP", "date": "2026-03-05", "status": "missing", "rate_date": None,
         "amount": "-1.00"},
        {"currency": "USD", "date": "2026-03-20", "status": "stale", "rate_date": "2026-03-10",
         "amount": "-7.00"},
    ]  # fmt: skip
    assert body["rows"][0]["outflow"] == "-22.46"  # as before: nothing counted at 1.0
    assert body["rows"][0]["complete"] is False


def test_net_worth_per_day_in_eur(world, books):
    api, _ = books
    body = _get(api, world, "net-worth", date_from="2026-03-02", date_to="2026-03-04",
                period="day")  # fmt: skip
    assert body["currency"] == "EUR"  # the organisation's default currency
    assert [(r["date"], r["net_worth"]) for r in body["rows"]] == [
        ("2026-03-02", "100.00"), ("2026-03-03", "80.20"), ("2026-03-04", "77.54"),
    ]  # fmt: skip


def test_net_worth_per_month_ends_on_the_last_day(world, books):
    api, _ = books
    body = _get(api, world, "net-worth", date_from="2026-02-15", date_to="2026-03-12",
                period="month", currency="JPY")  # fmt: skip
    # 2026-02-28: only the euros, and no rate yet: listed, not counted
    assert body["rows"][0] == {"date": "2026-02-28", "net_worth": "0", "complete": False}
    # 2026-03-12 at the 2026-03-10 rates: 94.45 * 150 = 14167.5 → 14168; 36.67 USD / 1.1 * 150
    # = 5000.45… → 5000; -1000 JPY
    assert body["rows"][1] == {"date": "2026-03-12", "net_worth": "18168", "complete": True}


def test_the_reporting_currency_setting_converts_without_asking(world, books):
    api, _ = books
    plain = _get(api, world, "cashflow", date_from="2026-03-01", date_to="2026-03-31")
    assert "converted" not in plain
    world.org.reporting_currency = "USD"
    world.org.save()
    body = _get(api, world, "cashflow", date_from="2026-03-01", date_to="2026-03-31")
    assert body["converted"]["currency"] == "USD"


def test_a_new_rate_changes_the_cached_report(world, books):
    api, _ = books
    params = {"date_from": "2026-03-01", "date_to": "2026-03-31", "currency": "EUR"}
    before = _get(api, world, "cashflow", **params)["converted"]["rows"][0]["inflow"]
    body = {"base": "EUR", "quote": "USD", "date": "2026-03-10", "rate": "1.00"}
    assert api.post(f"{_base(world)}/exchange-rates/", body, format="json").status_code == 200
    after = _get(api, world, "cashflow", **params)["converted"]["rows"][0]["inflow"]
    assert (before, after) == ("45.45", "50.00")


@pytest.mark.parametrize("report", ["balances", "categories", "cashflow", "net-worth"])
def test_an_unknown_currency_is_a_422_naming_the_field(world, report):
    url = f"{_base(world)}/reports/{report}/"
    response = client_for(world.viewer).get(url, {"currency": "ZZZ"})
    error = assert_error(response, 422, "currency_unknown")
    assert list(error["fields"]) == ["currency"]


def test_balances_explain_shows_the_rate_of_each_figure(world, books):
    api, _ = books
    body = _get(api, world, "balances", as_of="2026-03-12", currency="EUR", explain="true")
    usd = {row["name"]: row for row in body["converted"]["accounts"]}["USD card"]
    value, *movements = usd["explain"]
    assert (value["amount"], value["converted"], value["rate_date"]) == (
        "36.67",
        "33.34",
        "2026-03-10",
    )
    assert [(m["date"], m["converted"]) for m in movements] == [
        ("2026-03-03", "-8.00"), ("2026-03-04", "-2.66"), ("2026-03-10", "45.45"),
    ]  # fmt: skip
    assert sum(D(m["converted"]) for m in movements) == D(usd["historical"])


def test_cash_flow_with_transfers_converts_each_at_its_own_rate(world):
    world.org.default_currency = "EUR"
    world.org.save()
    eur = Account.objects.create(organization=world.org, name="EUR", currency="EUR")
    usd = Account.objects.create(organization=world.org, name="USD", currency="USD")
    api = client_for(world.member)
    _rates(api, world, [("USD", "2026-03-02", "1.25")])  # the day's rate: 120 USD = 96 EUR
    body = {"from_account": eur.pk, "to_account": usd.pk, "amount": "100.00",
            "to_amount": "120.00", "occurred_on": "2026-03-02"}  # fmt: skip
    assert api.post(f"{_base(world)}/transfers/", body, format="json").status_code == 201
    params = {"date_from": "2026-03-01", "date_to": "2026-03-31", "currency": "EUR"}
    body = _get(api, world, "cashflow", include_transfers="true", explain="true", **params)
    rows = body["converted"]["rows"]
    assert (rows[0]["inflow"], rows[0]["outflow"], rows[0]["net"]) == ("100.00", "-100.00", "0.00")
    assert {line["method"] for line in rows[0]["explain"]} == {"same", "transfer"}


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_with_a_currency_the_per_currency_part_is_the_unconverted_report(world, books, period):
    """A converted report reads the ledger once for both parts: its per-currency part is the
    unconverted report's, split lines, transfers and empty days included."""
    api, food = books
    eur, usd = Account.objects.get(name="EUR bank"), Account.objects.get(name="USD card")
    travel = Category.objects.create(organization=world.org, name="Travel", kind="expense")
    _tx(
        api,
        world,
        usd,
        "-9.00",
        "2026-03-03",
        splits=[  # same day as a whole -10.00 in Food
            {"category": food.pk, "amount": "-4.00"},
            {"category": travel.pk, "amount": "-5.00"},
        ],
    )
    _tx(api, world, eur, "0.00", "2026-03-05")
    body = {"from_account": eur.pk, "to_account": usd.pk, "amount": "20.00",
            "to_amount": "24.00", "occurred_on": "2026-03-11"}  # fmt: skip
    assert api.post(f"{_base(world)}/transfers/", body, format="json").status_code == 201
    span = {"date_from": "2026-03-01", "date_to": "2026-03-31"}
    cases = [
        ("categories", span),
        ("balances", {"as_of": "2026-03-20"}),
        ("cashflow", span | {"period": period}),
        ("cashflow", span | {"period": period, "include_transfers": "true"}),
    ]
    for report, params in cases:
        plain = _get(api, world, report, **params)
        both = _get(api, world, report, currency="JPY", **params)
        assert both.pop("converted")["currency"] == "JPY"
        assert both == plain, report
    rows = _get(api, world, "categories", currency="EUR", explain="true", **span)["converted"]
    food_row = {row["category"]: row for row in rows["rows"]}[food.pk]
    # 2026-03-03 in USD: the whole -10.00 and the -4.00 split line are one amount, rounded once
    assert [line["amount"] for line in food_row["explain"] if line["currency"] == "USD"] == [
        "-14.00"
    ]
    assert food_row["spending"] == "-23.00"  # -14 / 1.25 = -11.20; -6.25 JPY; -5.55 EUR
