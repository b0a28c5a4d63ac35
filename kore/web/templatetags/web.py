"""Template filters: amounts in the locale's format with the currency's decimals."""

from decimal import Decimal
from typing import Any

from django import template
from django.utils.formats import number_format

from kore.core.money import MoneyError, minor_units

register = template.Library()


@register.filter
def money(amount: Any, currency: str) -> str:
    """``-1234.5`` in EUR → ``-1,234.50`` (grouping and separator from the active locale)."""
    if amount is None or amount == "":
        return ""
    try:
        places = minor_units(currency)
    except MoneyError:
        places = 2
    value = Decimal(str(amount))
    return number_format(value, decimal_pos=places, use_l10n=True, force_grouping=True)


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
