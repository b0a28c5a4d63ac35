"""Log lines: one JSON object per event in production, plain text in the embedded runtime.

Every line carries the request id and, once known, the user, the organisation and the Celery task.
Secrets never reach a line: ``redact`` runs over the fully formatted text (message, extra fields and
tracebacks alike), so a password in a form, an ``Authorization`` header, an API token
(``kore_…``), a JWT, an API key or a DSN's password comes out as ``[REDACTED]``.
"""

import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from celery._state import get_current_task
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonEncoder

from kore.core.request_id import current_request_id, get_request_id

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
        record.request_id = current_request_id.get()
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
    """The Celery task this thread runs, if any (what ``celery.current_task`` stands for)."""
    task = get_current_task()
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


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id and any extra field.

    The line python-json-logger's ``JsonFormatter`` wrote with ``fmt="%(asctime)s %(levelname)s
    %(name)s %(message)s"``, ``asctime``/``levelname``/``name`` renamed ``time``/``level``/
    ``logger``, byte for byte (same keys in the same order, the same encoder), built directly:
    every request logs a line, and the generic formatter's parsing and merging cost more than
    the line itself.
    """

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # ISO 8601 in UTC with milliseconds: sortable and what Loki and Elasticsearch parse.
        return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")

    def format(self, record: logging.LogRecord) -> str:
        fields = record.__dict__
        message_dict: dict[str, Any] = {}
        if isinstance(record.msg, dict):
            message_dict = record.msg
            record.message = ""
        else:
            record.message = record.getMessage()
        record.asctime = self.formatTime(record)
        if record.exc_info and not message_dict.get("exc_info"):
            message_dict["exc_info"] = self.formatException(record.exc_info)
        if not message_dict.get("exc_info") and record.exc_text:
            message_dict["exc_info"] = record.exc_text
        if record.stack_info and not message_dict.get("stack_info"):
            message_dict["stack_info"] = self.formatStack(record.stack_info)
        line: dict[str, Any] = {
            "time": record.asctime,
            "level": record.levelname,
            "logger": record.name,
            "message": record.message,
        }
        for key, value in message_dict.items():
            line[_RENAMED.get(key, key)] = value
        for key, value in fields.items():
            if key not in _NOT_EXTRA and not key.startswith("_"):
                line[key] = value
        line.setdefault("request_id", fields.get("request_id", current_request_id.get()))
        for key in ("user_id", "org", "task_id", "task_name"):
            if line.get(key) is None:
                line.pop(key, None)
        return redact(_ENCODER.encode(line))


_RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}
# The record's own attributes and the four fields above: everything else is an extra field.
_NOT_EXTRA = frozenset((*RESERVED_ATTRS, "asctime", "levelname", "name", "message"))
# What ``json.dumps(line, cls=JsonEncoder)`` makes each time (python-json-logger's encoder: dates
# in ISO 8601, exceptions, enums, anything else as its ``str``), made once.
_ENCODER = JsonEncoder()
