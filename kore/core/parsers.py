"""A JSON parser that bounds size and nesting before anything reaches a serializer."""

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from rest_framework.parsers import JSONParser

from .exceptions import InvalidRequest, RequestTooLarge


def _too_deep(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONParser(JSONParser):
    """JSON only: at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes and ``KORE_JSON_MAX_DEPTH`` levels.

    Numbers with a fraction parse as ``Decimal`` so no float ever touches money; NaN and Infinity
    are refused.
    """

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise RequestTooLarge(f"The JSON body is larger than {limit} bytes.")
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge(f"The JSON body is larger than {limit} bytes.")
        try:
            data = json.loads(
                raw.decode("utf-8"), parse_float=Decimal, parse_constant=_reject_constant
            )
        except RecursionError as exc:
            raise InvalidRequest("The JSON body is nested too deeply.", code="parse_error") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidRequest(f"The body is not valid JSON: {exc}", code="parse_error") from exc
        if _too_deep(data, settings.KORE_JSON_MAX_DEPTH):
            raise InvalidRequest(
                f"The JSON body is nested deeper than {settings.KORE_JSON_MAX_DEPTH} levels.",
                code="parse_error",
            )
        return data
