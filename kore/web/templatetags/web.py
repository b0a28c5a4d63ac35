"""Template filters: amounts in the locale's format with the currency's decimals (``money``), or
in the plain form an input takes back (``amount_input``, kore.core.money.format_amount)."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django import template
from django.utils import dateformat, numberformat
from django.utils.formats import get_format, number_format
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from kore.core.money import MoneyError, format_amount, minor_units

register = template.Library()


def _places(currency: str) -> int:
    try:
        return minor_units(currency)
    except MoneyError:
        return 2


def row_formatters() -> tuple[Callable[[Any, str], str], Callable[[date], str]]:
    """Amount and date formatters with the active locale's formats looked up once: the list
    formats 50 rows, and each lookup through ``get_format`` is slower than the formatting."""
    decimal_sep = get_format("DECIMAL_SEPARATOR")
    thousand_sep = get_format("THOUSAND_SEPARATOR")
    grouping = get_format("NUMBER_GROUPING")
    date_fmt = get_format("SHORT_DATE_FORMAT")

    def amount(value: Any, currency: str) -> str:
        return numberformat.format(
            Decimal(str(value)), decimal_sep, _places(currency), grouping, thousand_sep,
            force_grouping=True,
        )  # fmt: skip

    seen: dict[date, str] = {}

    def day(value: date) -> str:
        if value not in seen:  # a page holds few distinct dates
            seen[value] = dateformat.format(value, date_fmt)
        return seen[value]

    return amount, day


@register.filter
def money(amount: Any, currency: str) -> str:
    """``-1234.5`` in EUR → ``-1,234.50`` (grouping and separator from the active locale)."""
    if amount is None or amount == "":
        return ""
    value = Decimal(str(amount))
    return number_format(value, decimal_pos=_places(currency), use_l10n=True, force_grouping=True)


@register.filter
def amount_input(amount: Any, currency: str) -> str:
    """``Decimal("-85.4000")`` in EUR → ``-85.40``: an input's value, as the forms read it back."""
    if amount is None or amount == "":
        return ""
    value = Decimal(str(amount))
    try:
        return format_amount(value, currency)
    except MoneyError:
        return str(value)


@register.filter
def sign(amount: Any) -> str:
    """A CSS class for the amount's direction."""
    try:
        value = Decimal(str(amount))
    except ArithmeticError:
        return ""
    return "neg" if value < 0 else "pos" if value > 0 else ""


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None


def options(choices: list[tuple[Any, str]], selected: Any) -> SafeString:
    """<option> elements for a select, built in one pass (a template loop costs far more)."""
    chosen = "" if selected is None else str(selected)
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, " selected" if str(value) == chosen else "", label) for value, label in choices),
    )
