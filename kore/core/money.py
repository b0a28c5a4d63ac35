"""Money: ``Decimal`` amounts with an ISO 4217 currency. The one place for parsing and precision.

Allowed decimals come from ISO 4217 minor units (the maintained ``iso4217`` table: JPY 0, EUR 2,
BHD 3), not from CLDR's display digits. Amounts are never rounded: too many decimals is an error.
"""

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache

import iso4217

# Stored as numeric(20, 4): four decimals cover every ISO 4217 currency (CLF, UYW have 4).
MAX_DIGITS = 20
DECIMAL_PLACES = 4
MAX_INTEGER_DIGITS = MAX_DIGITS - DECIMAL_PLACES
_AMOUNT = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")


class MoneyError(ValueError):
    """A money value that breaks a rule; ``code`` is the stable error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@cache
def minor_units(currency: str) -> int:
    """Decimals allowed in ``currency``; unknown or non-monetary codes (XAU, XXX) are refused."""
    try:
        exponent = iso4217.Currency(currency).exponent
    except ValueError:
        exponent = None
    if exponent is None:
        raise MoneyError("currency_unknown", f"{currency!r} is not an ISO 4217 currency code.")
    return int(exponent)


def is_currency(code: str) -> bool:
    try:
        minor_units(code)
    except MoneyError:
        return False
    return True


def parse_amount(text: str) -> Decimal:
    """Parse a wire amount (``"-12.30"``); the shape only, see ``check_precision``."""
    if not _AMOUNT.fullmatch(text):  # not match(): "$" also matches before a final newline
        raise MoneyError("invalid", 'Amounts are strings like "-12.30".')
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already excludes these
        raise MoneyError("invalid", "Not a decimal number.") from exc
    integer_digits = len(text.lstrip("-").split(".")[0])
    if integer_digits > MAX_INTEGER_DIGITS:
        raise MoneyError("amount_too_large", f"At most {MAX_INTEGER_DIGITS} integer digits.")
    return value


def check_precision(amount: Decimal, currency: str) -> None:
    """Refuse (never round) an amount with more decimals than the currency has."""
    places = minor_units(currency)
    # Count from the digits themselves: normalize() rounds to the context's 28 digits, which would
    # silently accept "0.1000…0001" or "1234567890123456.0000000000001".
    _, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int):
        raise MoneyError("invalid", "Not a finite decimal number.")
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    decimals = max(0, -(exponent + trailing_zeros)) if any(digits) else 0
    if decimals > places:
        raise MoneyError(
            "amount_precision",
            f"{currency} amounts have at most {places} decimal places; got {decimals}.",
        )


def quantize(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded (half to even) to the currency's decimals: for computed shares only;
    amounts a person gives are refused, never rounded (``check_precision``)."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_EVEN)


def format_amount(amount: Decimal, currency: str) -> str:
    """The wire form: exactly the currency's decimals (``Decimal("12.3")`` in EUR → ``"12.30"``)."""
    places = minor_units(currency)
    text = str(amount.quantize(Decimal(1).scaleb(-places)))
    return text.removeprefix("-") if not amount else text  # never "-0.00"
