"""Log lines: one JSON object per event in production, plain text in the embedded runtime.

Every line carries the request id and, once known, the user, the organisation and the Celery task.
Secrets never reach a line: ``redact`` runs over the fully formatted text (message, extra fields and
tracebacks alike), so a password in a form, an ``Authorization`` header, an API token
(``kore_…``), a JWT, an API key or a DSN's password comes out as ``[REDACTED]``.
"""

import logging
import re
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from kore.core.request_id import get_request_id

REDACTED = "[REDACTED]"

current_user_id: ContextVar[int | None] = ContextVar("current_user_id", default=None)
current_org: ContextVar[str | None] = ContextVar("current_org", default=None)

_REDACTED_FIELDS = (
    r"password\d?|passwd|new_password\d?|old_password|secret|secret_key|token|access|refresh"
    r"|api[_-]?key|apikey|x-api-key|authorization|cookie|sessionid|csrftoken|dsn"
)
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # "Authorization: Bearer x", 'HTTP_AUTHORIZATION': 'Token x', authorization=Basic x
    (
        re.compile(
            r"(?i)((?:http_)?authorization['\"]?\s*[:=]\s*['\"]?)"
            r"(?:(?:bearer|basic|token|digest)\s+)?[^\s'\",}]+"
        ),
        r"\1" + REDACTED,
    ),
    # Kore's API tokens: kore_<8 hex>_<secret>
    (re.compile(r"kore_[0-9a-f]{8}_[A-Za-z0-9_-]+"), REDACTED),
    # JWTs (header.payload.signature, base64url; the header always starts with {" = eyJ)
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
    # Credentials inside URLs / DSNs: scheme://user:password@host
    (
        re.compile(r"([a-z][a-z0-9+.-]*://[^:/\s@'\"]*:)[^@\s/'\"]+(@)", re.IGNORECASE),
        r"\1" + REDACTED + r"\2",
    ),
    # A URL's user name alone is the secret in a Sentry DSN: https://<key>@host/1
    (re.compile(r"(https?://)[^:/\s@'\"]+@", re.IGNORECASE), r"\1" + REDACTED + "@"),
    # key=value, "key": "value", key: value for keys that name secrets (JSON, forms, query strings)
    (
        re.compile(
            r"(?i)(\b[a-z_-]*(?:" + _REDACTED_FIELDS + r")['\"]?\s*(?:=|:)\s*['\"]?)"
            r"(?!\[REDACTED\])[^\s'\"&,;}]+"
        ),
        r"\1" + REDACTED,
    ),
]


# Every pattern above needs one of these words in the text (lower-cased): most lines, a
# request's, hold none, and looking for them costs a small fraction of the six substitutions.
SECRET_HINTS = (
    *("authorization", "kore_", "eyj", "://", "password", "passwd", "secret", "token", "access"),
    *("refresh", "apikey", "api_key", "api-key", "cookie", "sessionid", "csrftoken", "dsn"),
)


def redact(text: str) -> str:
    """The text with every secret Kore knows the shape of replaced by ``[REDACTED]``."""
    lowered = text.lower()
    if not any(hint in lowered for hint in SECRET_HINTS):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class ContextFilter(logging.Filter):
    """Stamp each record with the request id, the user and organisation, the Celery task."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = get_request_id()
        if not hasattr(record, "user_id"):
            record.user_id = current_user_id.get()
        if not hasattr(record, "org"):
            record.org = current_org.get()
        task = _current_task()
        if task is not None:
            record.task_id = getattr(task.request, "id", None)
            record.task_name = task.name
        return True


def _current_task() -> Any:
    try:
        from celery import current_task
    except ImportError:  # pragma: no cover - celery is a dependency
        return None
    task = current_task
    return task if task and getattr(task.request, "id", None) else None


class TextFormatter(logging.Formatter):
    """Human-readable lines for a terminal (the embedded runtime, make run)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        super().__init__(*args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = get_request_id()
        return redact(super().format(record))


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line: time, level, logger, message, request_id and any extra field."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s")
        kwargs.setdefault(
            "rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"}
        )
        kwargs.setdefault("timestamp", False)
        super().__init__(*args, **kwargs)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # ISO 8601 in UTC with milliseconds: sortable and what Loki and Elasticsearch parse.
        from datetime import UTC, datetime

        return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")

    def add_fields(
        self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record.setdefault("request_id", getattr(record, "request_id", get_request_id()))
        for key in ("user_id", "org", "task_id", "task_name"):
            if log_record.get(key) is None:
                log_record.pop(key, None)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
