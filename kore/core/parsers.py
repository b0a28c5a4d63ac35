"""A JSON parser that bounds size and nesting, and refuses lone surrogates, before anything
reaches a serializer."""

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from rest_framework.parsers import JSONParser

from .exceptions import InvalidRequest, RequestTooLarge

# A UTF-16 surrogate alone (``"\ud83d"`` without its pair) is a valid JSON escape but not a
# character: PostgreSQL refuses to store it, and orjson refuses to render it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def has_surrogate(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


def _check_tree(value: Any, limit: int, strings: bool) -> str | None:
    """What is wrong with a parsed document (too deep, a lone surrogate), or None."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return "depth"
            if isinstance(node, dict):
                if strings and any(has_surrogate(key) for key in node):
                    return "surrogate"
                stack.extend((child, depth + 1) for child in node.values())
            else:
                stack.extend((child, depth + 1) for child in node)
        elif strings and isinstance(node, str) and has_surrogate(node):
            return "surrogate"
    return None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def strict_loads(raw: bytes, *, what: str = "The body", max_depth: int | None = None) -> Any:
    """Parse JSON: fractions as ``Decimal``, no NaN/Infinity, at most ``KORE_JSON_MAX_DEPTH``
    levels, no lone surrogate in any key or string. Every failure is a 400 with a stable code."""
    try:
        data = json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise InvalidRequest(f"{what} is nested too deeply.", code="parse_error") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        # The decoder's message says where, never echoes the input.
        raise InvalidRequest(f"{what} is not valid JSON: {exc}", code="parse_error") from exc
    limit = settings.KORE_JSON_MAX_DEPTH if max_depth is None else max_depth
    # A lone surrogate can only come from a \u escape: raw surrogate bytes are invalid UTF-8.
    problem = _check_tree(data, limit, strings=b"\\u" in raw)
    if problem == "depth":
        raise InvalidRequest(f"{what} is nested deeper than {limit} levels.", code="parse_error")
    if problem == "surrogate":
        raise InvalidRequest(
            f"{what} holds a lone UTF-16 surrogate (a \\ud800-\\udfff escape without its pair).",
            code="invalid_unicode",
        )
    return data


class StrictJSONParser(JSONParser):
    """JSON only: at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes and ``KORE_JSON_MAX_DEPTH`` levels.

    Numbers with a fraction parse as ``Decimal`` so no float ever touches money; NaN and Infinity
    are refused, and so is a lone surrogate anywhere (400 ``invalid_unicode``).
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
        return strict_loads(raw)
