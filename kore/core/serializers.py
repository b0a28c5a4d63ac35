"""Serializer bases shared by every API: unknown fields are a 400, not silently dropped."""

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError


class StrictSerializer(serializers.Serializer[Any]):
    """Reject keys the serializer does not declare (code ``unknown_field``)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            known = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - known)
            if unknown:
                raise ValidationError(
                    {key: [ErrorDetail("Unknown field.", code="unknown_field")] for key in unknown}
                )
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A string field that refuses numbers and booleans instead of converting them."""

    default_error_messages = {"invalid_type": "Expected a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid_type")
        return str(super().to_internal_value(data))
