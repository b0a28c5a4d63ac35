"""The ``Kore-Signature`` header: HMAC-SHA256 over ``<timestamp>.<body>`` with the endpoint's
secret, sent as ``t=<unix seconds>,v1=<hex>``. A receiver recomputes it and refuses a timestamp
outside its tolerance window, so a captured request cannot be replayed later."""

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Kore-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def secret_generate() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def signature_compute(*, secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for ``body`` signed now (or at ``timestamp``)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return f"t={stamp},v1={signature_compute(secret=secret, timestamp=stamp, body=body)}"


def signature_verify(
    *,
    secret: str,
    body: bytes,
    header: str,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` at a time within ``tolerance`` seconds
    of ``now``. What a receiver does; Kore uses it in its own tests."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        stamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        return False
    expected = signature_compute(secret=secret, timestamp=stamp, body=body)
    return hmac.compare_digest(expected, parts.get("v1", ""))
