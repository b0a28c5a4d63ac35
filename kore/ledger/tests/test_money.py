"""kore.core.money: parsing, precision per ISO 4217 currency and the wire form; never rounding."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kore.core.money import (
    MAX_INTEGER_DIGITS,
    MoneyError,
    check_precision,
    format_amount,
    is_currency,
    minor_units,
    parse_amount,
)

CURRENCY_PLACES = {"EUR": 2, "USD": 2, "JPY": 0, "BHD": 3, "KWD": 3, "CLF": 4}


@pytest.mark.parametrize(("currency", "places"), sorted(CURRENCY_PLACES.items()))
def test_minor_units_follow_iso_4217(currency, places):
    assert minor_units(currency) == places
    assert is_currency(currency)


@pytest.mark.parametrize("code", ["XAU", "XXX", "ZZZ", "eur", "", "EURO"])
def test_unknown_or_non_monetary_currency_is_refused(code):
    with pytest.raises(MoneyError) as exc:
        minor_units(code)
    assert exc.value.code == "currency_unknown"
    assert not is_currency(code)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", Decimal(0)),
        ("-12.30", Decimal("-12.30")),
        ("12.3", Decimal("12.3")),
        ("1000000", Decimal(1000000)),
        ("9" * MAX_INTEGER_DIGITS + ".99", Decimal("9" * MAX_INTEGER_DIGITS + ".99")),
        ("0.0001", Decimal("0.0001")),
    ],
)
def test_parse_amount_accepts_decimal_strings(text, value):
    parsed = parse_amount(text)
    assert parsed == value
    assert str(parsed) == text  # exactly what was sent, nothing rounded


@pytest.mark.parametrize(
    "text",
    [
        "", " ", "1,00", "1.", ".5", "+1", "01", "-01.0", "1e3", "1E3", "NaN", "Infinity",
        "-", "1.2.3", "\u0661\u0662", "\uff11\uff12", " 12", "12 ", "12\n", "\n12", "0x10", "1_000",
    ],
)  # fmt: skip
def test_parse_amount_refuses_anything_but_plain_decimals(text):
    with pytest.raises(MoneyError) as exc:
        parse_amount(text)
    assert exc.value.code == "invalid"


def test_parse_amount_refuses_too_many_integer_digits():
    with pytest.raises(MoneyError) as exc:
        parse_amount("1" + "0" * MAX_INTEGER_DIGITS)
    assert exc.value.code == "amount_too_large"
    with pytest.raises(MoneyError):
        parse_amount("-1" + "0" * MAX_INTEGER_DIGITS + ".5")


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("1.23", "EUR"), ("1.230", "EUR"), ("1.2300000", "EUR"), ("12", "JPY"), ("12.000", "JPY"),
        ("1.234", "BHD"), ("-0.001", "BHD"), ("100", "EUR"), ("0", "JPY"), ("1.2345", "CLF"),
    ],
)  # fmt: skip
def test_check_precision_accepts_up_to_the_currency_decimals(amount, currency):
    check_precision(Decimal(amount), currency)


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("1.234", "EUR"), ("0.001", "USD"), ("1.5", "JPY"), ("0.1", "JPY"), ("1.2345", "BHD"),
        ("1.00001", "CLF"),
        # More significant digits than the default decimal context (28): must not be rounded
        # away into an acceptable value.
        ("0.1000000000000000000000000000001", "EUR"),
        ("1234567890123456.0000000000001", "EUR"),
        ("1234567890123456.0000000000001", "JPY"),
    ],
)  # fmt: skip
def test_check_precision_refuses_more_decimals_never_rounds(amount, currency):
    with pytest.raises(MoneyError) as exc:
        check_precision(Decimal(amount), currency)
    assert exc.value.code == "amount_precision"


@pytest.mark.parametrize(
    ("amount", "currency", "wire"),
    [
        ("12.3", "EUR", "12.30"), ("-12.3000", "EUR", "-12.30"), ("12.0000", "JPY", "12"),
        ("1.2", "BHD", "1.200"), ("0", "EUR", "0.00"), ("9999999999999999.9900", "EUR",
        "9999999999999999.99"), ("-0", "EUR", "0.00"), ("-0.0000", "JPY", "0"),
    ],
)  # fmt: skip
def test_format_amount_has_exactly_the_currency_decimals(amount, currency, wire):
    assert format_amount(Decimal(amount), currency) == wire


@given(
    currency=st.sampled_from(sorted(CURRENCY_PLACES)),
    units=st.integers(min_value=-(10**15), max_value=10**15),
)
def test_parse_format_round_trip(currency, units):
    places = CURRENCY_PLACES[currency]
    value = Decimal(units).scaleb(-places)
    text = format_amount(value, currency)
    parsed = parse_amount(text)
    check_precision(parsed, currency)
    assert parsed == value
    assert format_amount(parsed, currency) == text
    assert text.count(".") == (1 if places else 0)
    if places:
        assert len(text.split(".")[1]) == places


@given(
    currency=st.sampled_from(sorted(CURRENCY_PLACES)),
    units=st.integers(min_value=-(10**12), max_value=10**12),
    extra=st.integers(min_value=1, max_value=30),
    last=st.integers(min_value=1, max_value=9),
)
def test_any_digit_beyond_the_currency_decimals_is_refused(currency, units, extra, last):
    places = CURRENCY_PLACES[currency]
    text = format_amount(Decimal(units).scaleb(-places), currency)
    text += ("" if places else ".") + "0" * (extra - 1) + str(last)
    with pytest.raises(MoneyError) as exc:
        check_precision(parse_amount(text), currency)
    assert exc.value.code == "amount_precision"


@given(st.decimals(places=2, min_value=-(10**15), max_value=10**15))
def test_two_decimal_amounts_pass_in_eur_and_keep_their_value(value):
    check_precision(value, "EUR")
    assert Decimal(format_amount(value, "EUR")) == value
