"""The conversion rules, on EUR (2 decimals), USD (2) and JPY (0), against sums done by hand."""

from datetime import date
from decimal import Decimal

import pytest

from kore.core.exceptions import RuleViolation
from kore.fx.conversion import AmountLine, convert_amounts, reporting_currency
from kore.fx.models import ExchangeRate
from kore.fx.services import RateInput, exchange_rate_set

D = Decimal


def _rate(org, base, quote, day, rate):
    item = RateInput(base, quote, date.fromisoformat(day), D(rate))
    exchange_rate_set(organization=org, item=item)


@pytest.fixture
def org(world):
    world.org.default_currency = "EUR"
    world.org.max_rate_age_days = 5
    world.org.save()
    return world.org


def test_direct_and_inverse_rates_rounded_per_line_then_summed(org):
    _rate(org, "EUR", "USD", "2026-03-02", "1.0850")
    lines = [
        AmountLine(D("100.00"), "USD", date(2026, 3, 2)),  # 100 / 1.085 = 92.1658… → 92.17
        AmountLine(D("33.33"), "USD", date(2026, 3, 4)),  # 33.33 / 1.085 = 30.7188… → 30.72
        AmountLine(D("10.00"), "EUR", date(2026, 3, 4)),  # same currency
    ]
    result = convert_amounts(organization=org, lines=lines, currency="EUR")
    assert [line.amount for line in result.lines] == [D("92.17"), D("30.72"), D("10.00")]
    assert result.total == D("132.89")
    assert [line.method for line in result.lines] == ["inverse", "inverse", "same"]
    assert result.complete

    in_usd = convert_amounts(
        organization=org, lines=[AmountLine(D("19.99"), "EUR", date(2026, 3, 3))], currency="USD"
    )
    # 19.99 * 1.085 = 21.68915 → 21.69
    assert in_usd.total == D("21.69")
    assert in_usd.lines[0].method == "direct"
    assert in_usd.lines[0].rate_date == date(2026, 3, 2)


def test_jpy_has_no_decimals_and_each_line_rounds_before_the_sum(org):
    _rate(org, "EUR", "JPY", "2026-03-02", "162.37")
    lines = [AmountLine(D("0.01"), "EUR", date(2026, 3, 2))] * 3 + [
        AmountLine(D("12.34"), "EUR", date(2026, 3, 2))
    ]
    result = convert_amounts(organization=org, lines=lines, currency="JPY")
    # 0.01 * 162.37 = 1.6237 → 2 (three times); 12.34 * 162.37 = 2003.6458 → 2004
    assert [line.amount for line in result.lines] == [D(2), D(2), D(2), D(2004)]
    assert result.total == D(2010)
    explained = [line.explain(result.currency) for line in result.lines]
    assert sum(D(e["converted"]) for e in explained) == result.total
    assert explained[3] == {
        "amount": "12.34", "currency": "EUR", "date": "2026-03-02", "status": "converted",
        "rate": "162.37", "rate_date": "2026-03-02", "method": "direct", "via": None,
        "converted": "2004",
    }  # fmt: skip


def test_jpy_into_eur_gets_two_decimals(org):
    _rate(org, "EUR", "JPY", "2026-03-02", "160")
    result = convert_amounts(
        organization=org, lines=[AmountLine(D("1000"), "JPY", date(2026, 3, 2))], currency="EUR"
    )
    assert result.total == D("6.25")  # 1000 / 160


def test_triangulation_through_the_base_currency(org):
    _rate(org, "EUR", "USD", "2026-03-02", "1.25")
    _rate(org, "EUR", "JPY", "2026-03-03", "160")
    result = convert_amounts(
        organization=org, lines=[AmountLine(D("10.00"), "USD", date(2026, 3, 5))], currency="JPY"
    )
    line = result.lines[0]
    # 10 USD / 1.25 = 8 EUR; 8 EUR * 160 = 1280 JPY
    assert (line.status, line.method, line.via) == ("converted", "triangulated", "EUR")
    assert line.amount == D(1280)
    assert line.rate == D(128)
    assert line.rate_date == date(2026, 3, 2)  # the older leg


def test_last_rate_on_or_before_the_date_is_used(org):
    _rate(org, "EUR", "USD", "2026-03-01", "1.00")
    _rate(org, "EUR", "USD", "2026-03-03", "2.00")
    _rate(org, "EUR", "USD", "2026-03-05", "4.00")
    lines = [AmountLine(D("8.00"), "EUR", date(2026, 3, d)) for d in (1, 2, 3, 4, 5, 6)]
    result = convert_amounts(organization=org, lines=lines, currency="USD")
    expected = [D(v) for v in ("8", "8", "16", "16", "32", "32")]
    assert [line.amount for line in result.lines] == expected
    assert result.total == D("112.00")


def test_missing_rate_is_reported_never_taken_as_one(org):
    _rate(org, "EUR", "USD", "2026-03-02", "1.10")
    lines = [
        AmountLine(D("10.00"), "USD", date(2026, 3, 2)),
        AmountLine(D("500"), "JPY", date(2026, 3, 2)),  # no JPY rate at all
        AmountLine(D("10.00"), "USD", date(2026, 3, 1)),  # before the first USD rate
    ]
    result = convert_amounts(organization=org, lines=lines, currency="EUR")
    assert [line.status for line in result.lines] == ["converted", "missing", "missing"]
    assert result.total == D("9.09")  # 10 / 1.1 = 9.0909…, the others left out
    assert not result.complete
    assert [u.line.currency for u in result.unconverted] == ["JPY", "USD"]
    assert all(u.amount is None and u.rate is None for u in result.unconverted)


def test_rate_older_than_the_maximum_age_is_stale(org):
    _rate(org, "EUR", "USD", "2026-03-01", "1.10")
    lines = [
        AmountLine(D("11.00"), "USD", date(2026, 3, 6)),  # 5 days: still allowed
        AmountLine(D("11.00"), "USD", date(2026, 3, 7)),  # 6 days: stale
    ]
    result = convert_amounts(organization=org, lines=lines, currency="EUR")
    assert [line.status for line in result.lines] == ["converted", "stale"]
    stale = result.lines[1]
    assert stale.amount is None
    assert stale.rate_date == date(2026, 3, 1)
    assert result.total == D("10.00")
    explained = stale.explain("EUR")
    assert explained["status"] == "stale"
    assert explained["converted"] is None


def test_fresh_triangulation_beats_a_stale_direct_rate(org):
    _rate(org, "USD", "JPY", "2026-01-01", "100")  # far too old
    _rate(org, "EUR", "USD", "2026-03-02", "1.25")
    _rate(org, "EUR", "JPY", "2026-03-02", "150")
    result = convert_amounts(
        organization=org, lines=[AmountLine(D("5.00"), "USD", date(2026, 3, 2))], currency="JPY"
    )
    assert (result.lines[0].method, result.total) == ("triangulated", D(600))


def test_a_transfer_uses_its_own_rate(org):
    _rate(org, "EUR", "USD", "2026-03-02", "1.10")
    leg = AmountLine(D("-100.00"), "USD", date(2026, 3, 2), known_rate=("EUR", D("0.95")))
    other = AmountLine(D("-100.00"), "USD", date(2026, 3, 2), known_rate=("JPY", D("150")))
    result = convert_amounts(organization=org, lines=[leg, other], currency="EUR")
    assert [line.amount for line in result.lines] == [D("-95.00"), D("-90.91")]
    assert [line.method for line in result.lines] == ["transfer", "inverse"]


def test_the_batch_reads_rates_in_a_constant_number_of_queries(org, django_assert_max_num_queries):
    for day in range(1, 28):
        _rate(org, "EUR", "USD", f"2026-02-{day:02d}", f"1.{day:02d}")
    lines = [AmountLine(D("1.00"), "USD", date(2026, 2, day)) for day in range(1, 28)]
    with django_assert_max_num_queries(2):
        result = convert_amounts(organization=org, lines=lines * 50, currency="EUR")
    assert result.complete


def test_reporting_currency_defaults_to_the_setting_then_the_default_currency(org):
    assert reporting_currency(organization=org) == "EUR"
    org.reporting_currency = "JPY"
    assert reporting_currency(organization=org) == "JPY"
    assert reporting_currency(organization=org, requested="usd") == "USD"


def test_an_unknown_reporting_currency_is_refused_naming_the_field(org):
    with pytest.raises(RuleViolation) as caught:
        reporting_currency(organization=org, requested="ZZZ")
    assert caught.value.code == "currency_unknown"
    assert list(caught.value.fields) == ["currency"]


def test_replacing_a_rate_keeps_the_old_one_in_the_audit_trail(org):
    _rate(org, "EUR", "USD", "2026-03-02", "1.10")
    _rate(org, "EUR", "USD", "2026-03-02", "1.20")
    row = ExchangeRate.objects.get(organization=org)
    assert row.rate == D("1.20")
    assert [h.rate for h in row.history.order_by("history_id")] == [D("1.10"), D("1.20")]
