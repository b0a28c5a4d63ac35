"""Serializer fields for Kore's wire formats."""

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .money import MoneyError, parse_amount


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$",
        "example": "-12.30",
        "description": "A decimal string; decimals at most the currency's ISO 4217 minor units.",
    }
)
class MoneyField(serializers.Field):  # type: ignore[type-arg]
    """Money on the wire is a JSON string (``"12.30"``): a JSON number is a 400 ``invalid_type``.

    Precision against the currency is a rule checked by the service (422 ``amount_precision``).
    """

    default_error_messages = {
        "invalid_type": 'Amounts are JSON strings like "12.30", not numbers.',
        "invalid": 'Not a decimal amount like "-12.30".',
        "amount_too_large": "The amount has too many digits.",
    }

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str):
            self.fail("invalid_type")
        try:
            return parse_amount(data)
        except MoneyError as exc:
            self.fail(exc.code if exc.code in self.error_messages else "invalid")
            raise  # pragma: no cover - fail() raises

    def to_representation(self, value: Any) -> str:
        return str(value)


@extend_schema_field(OpenApiTypes.STR)
class CurrencyField(serializers.RegexField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(r"^[A-Z]{3}$", **kwargs)
