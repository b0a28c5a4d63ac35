"""Converted amounts equal the exact quotient rounded half up once, whatever the amounts and rates
(checked against fractions, which do not round)."""

from datetime import date
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kore.fx.conversion import AmountLine, RateTable

DAY = date(2026, 3, 2)
PLACES = {"EUR": 2, "USD": 2, "JPY": 0}

rates = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(1_000_000), places=6)
cents = st.integers(min_value=-(10**12), max_value=10**12)


def _exact(value: Fraction, currency: str) -> Decimal:
    """Half away from zero, as Decimal's ROUND_HALF_UP, on the exact value."""
    units = abs(value) * 10 ** PLACES[currency]
    whole = int(units + Fraction(1, 2))  # floor: units is not negative
    signed = -whole if value < 0 else whole
    return Decimal(signed).scaleb(-PLACES[currency])


def _table(usd: Decimal, jpy: Decimal) -> RateTable:
    return RateTable(max_age_days=0, rows=[("EUR", "USD", DAY, usd), ("EUR", "JPY", DAY, jpy)])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(usd=rates.filter(bool), jpy=rates.filter(bool), minor=cents)
def test_direct_inverse_and_triangulated_amounts_are_rounded_once(usd, jpy, minor):
    table = _table(usd, jpy)
    amount = Decimal(minor).scaleb(-2)
    exact = Fraction(amount)
    direct = table.convert(AmountLine(amount, "EUR", DAY), "USD")
    assert direct.amount == _exact(exact * Fraction(usd), "USD")
    inverse = table.convert(AmountLine(amount, "USD", DAY), "EUR")
    assert inverse.amount == _exact(exact / Fraction(usd), "EUR")
    across = table.convert(AmountLine(amount, "USD", DAY), "JPY")
    assert across.method == "triangulated"
    assert across.amount == _exact(exact / Fraction(usd) * Fraction(jpy), "JPY")
