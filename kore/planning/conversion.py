"""Amounts of several currencies in a budget's currency, by the exchange-rate rules of
kore.fx.conversion (the one owner of them): a rate on or before the amount's date, no older than
the organisation's maximum age, either way round or through one pivot currency."""

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from kore.fx.conversion import AmountLine, convert_amounts
from kore.fx.models import ExchangeRate
from kore.orgs.models import Organization


def to_budget_currency(
    *, organization: Organization, amounts: Mapping[tuple[date, str], Decimal], currency: str
) -> tuple[list[tuple[date, Decimal]], list[tuple[date, str, Decimal]]]:
    """(day, amount in ``currency``) for the amounts that convert, and (day, currency, amount)
    for those with no rate (or only a stale one) on their day: one query for the rates."""
    lines = [AmountLine(amount, code, day) for (day, code), amount in amounts.items()]
    conversion = convert_amounts(organization=organization, lines=lines, currency=currency)
    converted: list[tuple[date, Decimal]] = []
    missing: list[tuple[date, str, Decimal]] = []
    for done in conversion.lines:
        if done.amount is not None:
            converted.append((done.line.on, done.amount))
        else:
            missing.append((done.line.on, done.line.currency, done.line.amount))
    return converted, missing


def rate_path_missing(
    *, organization: Organization, currencies: set[str], currency: str
) -> set[str]:
    """The currencies among ``currencies`` with no rate path at all into ``currency``: no rate
    between the two either way, and no pivot currency with rates to both (the conversion's
    rule). A path whose rates are only stale on some day is a path: those days show as not
    counted."""
    partners: dict[str, set[str]] = defaultdict(set)
    pairs = ExchangeRate.objects.filter(organization=organization).values_list("base", "quote")
    for base, quote in pairs.distinct().order_by():
        partners[base].add(quote)
        partners[quote].add(base)
    return {
        code
        for code in currencies
        if code != currency
        and currency not in partners[code]
        and not (partners[code] & partners[currency])
    }
