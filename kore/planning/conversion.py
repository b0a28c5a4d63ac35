"""Amounts of several currencies in a budget's currency.

Kore has no exchange rates yet: an amount counts only when it is in the budget's currency;
the others are returned apart, per day and currency, for the caller to show as not counted.
"""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from kore.orgs.models import Organization


def to_budget_currency(
    *, organization: Organization, amounts: Mapping[tuple[date, str], Decimal], currency: str
) -> tuple[list[tuple[date, Decimal]], list[tuple[date, str, Decimal]]]:
    """(day, amount in ``currency``) for the amounts that convert, and (day, currency, amount)
    for those that do not."""
    converted = [(day, amount) for (day, code), amount in amounts.items() if code == currency]
    missing = [(day, code, amount) for (day, code), amount in amounts.items() if code != currency]
    return converted, missing


def rate_path_missing(
    *, organization: Organization, currencies: set[str], currency: str
) -> set[str]:
    """The currencies among ``currencies`` that cannot be converted into ``currency``."""
    return {code for code in currencies if code != currency}
