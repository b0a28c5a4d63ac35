"""Serializer fields for Kore's wire formats."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .exceptions import InvalidRequest
from .money import MoneyError, parse_amount
from .parsers import strict_loads

# Every id is a positive 64-bit integer (PostgreSQL bigint, SQLite INTEGER): a larger number names
# nothing, and SQLite's driver cannot even bind it (OverflowError, a 500), so it stops here.
ID_MAX = 2**63 - 1
ID_MESSAGE = "Not an id: ids are whole numbers from 1 to 2^63-1."


def id_parse(raw: str | None) -> int | None:
    """An id from text (a query parameter, a form or path value): ASCII digits, 1 to 2^63-1.

    None for anything else, including "-1", "1e309", fullwidth digits and numbers beyond 64 bits.
    """
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        return None
    value = int(raw)
    return value if 1 <= value <= ID_MAX else None


def id_coerce(raw: str) -> int:
    """``id_parse`` for Django forms' ``coerce=``: a ValueError is the form's invalid choice."""
    value = id_parse(raw)
    if value is None:
        raise ValueError(ID_MESSAGE)
    return value


def id_query_param(params: Mapping[str, str], name: str) -> int | None:
    """An optional id in a query string: None when absent, a 400 ``invalid_id`` when not an id."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    value = id_parse(raw)
    if value is None:
        raise InvalidRequest(
            f"{name} is not an id.",
            code="invalid_id",
            fields={name: [{"code": "invalid_id", "message": ID_MESSAGE}]},
        )
    return value


class IdField(serializers.IntegerField):
    """An id in a body or query: 1 to 2^63-1; a number outside is a 400 ``invalid_id``."""

    default_error_messages = {"invalid_id": ID_MESSAGE}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)  # also what the schema documents
        kwargs.setdefault("max_value", ID_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        value = int(super().to_internal_value(data))
        if not 1 <= value <= ID_MAX:
            self.fail("invalid_id")
        return value


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


@extend_schema_field(OpenApiTypes.STR)
class JSONTextField(serializers.Field):  # type: ignore[type-arg]
    """A JSON document sent as text (a multipart form field), parsed like a JSON body: at most
    ``max_bytes`` and ``max_depth`` levels, no NaN, no lone surrogate; each a 400 on the field."""

    default_error_messages = {
        "invalid_type": "Expected a JSON document as text.",
        "max_string_length": "The JSON text is longer than {max_bytes} bytes.",
    }

    def __init__(self, *, max_bytes: int, max_depth: int, **kwargs: Any) -> None:
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")  # a surrogate is refused by strict_loads
        if not isinstance(data, bytes):
            self.fail("invalid_type")
        if len(data) > self.max_bytes:
            self.fail("max_string_length", max_bytes=self.max_bytes)
        try:
            return strict_loads(data, what=f"The field {self.field_name}", max_depth=self.max_depth)
        except InvalidRequest as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from exc

    def to_representation(self, value: Any) -> Any:
        return value
