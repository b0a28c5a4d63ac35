"""Keyset (cursor) pagination: constant cost at any depth, no COUNT(*).

A cursor is the last row's sort key, signed and bound to its scope (organisation + ordering), so a
forged cursor or one from another organisation or ordering is a 400 ``invalid_cursor``.
"""

from typing import Any

from django.core import signing

from .exceptions import InvalidRequest, RuleViolation

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def cursor_encode(values: list[Any], *, scope: str) -> str:
    return signing.dumps(values, salt=f"kore.cursor:{scope}", compress=True)


def cursor_decode(token: str, *, scope: str) -> list[Any]:
    try:
        values = signing.loads(token, salt=f"kore.cursor:{scope}")
    except signing.BadSignature as exc:
        raise InvalidRequest(
            "The cursor is not valid here (forged, or from another list).",
            code="invalid_cursor",
            fields={"cursor": [{"code": "invalid_cursor", "message": "Not a valid cursor."}]},
        ) from exc
    if not isinstance(values, list):
        raise InvalidRequest("The cursor is not valid here.", code="invalid_cursor")
    return values


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()):  # "²".isdigit() is True but int("²") fails
        raise InvalidRequest(
            "limit is a whole number.",
            fields={"limit": [{"code": "invalid", "message": "A whole number."}]},
        )
    limit = int(raw)
    if not 1 <= limit <= MAX_LIMIT:
        raise RuleViolation(
            f"limit is between 1 and {MAX_LIMIT}.",
            code="limit_out_of_range",
            fields={"limit": [{"code": "limit_out_of_range", "message": f"1 to {MAX_LIMIT}."}]},
        )
    return limit
