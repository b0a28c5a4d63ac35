"""The request id: taken from the proxy when well-formed, generated otherwise, on every log line."""

import re
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"
# Nginx's $request_id is 32 hex characters; accept that, UUIDs and similar opaque tokens only.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,127}")

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="-")


def request_id_from_header(value: str | None) -> str:
    """Return the caller's id if it is well-formed, else a new one (never echo junk)."""
    # fullmatch: ``$`` would also accept a trailing newline (header/log injection).
    if value and _WELL_FORMED.fullmatch(value):
        return value
    return uuid.uuid4().hex


def get_request_id() -> str:
    return current_request_id.get()
