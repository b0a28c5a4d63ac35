"""What the status page shows of the last hour, gathered cheaply in every process.

Requests are counted in memory per process and minute; WARNING-or-worse log records are kept in
a short in-memory queue. A daemon thread writes both to PostgreSQL every ``KORE_OPS_FLUSH_SECONDS``
(its own connection: a request never waits on it, and a database outage only loses the counts
of that outage, at most ``MAX_PENDING`` records). The tables stay bounded: minutes older than
``KEEP_MINUTES`` and all but the newest ``KEEP_PROBLEMS`` records are deleted at each flush.
"""

import contextlib
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F

from .periodic import PeriodicThread

KEEP_MINUTES = 120
KEEP_PROBLEMS = 200
MAX_PENDING = 100

_lock = threading.Lock()
_minutes: dict[int, list[int]] = {}  # minutes since the epoch -> [requests, errors]
_problems: deque["Problem"] = deque(maxlen=MAX_PENDING)
_in_flush = threading.local()


@dataclass(frozen=True)
class Problem:
    created: datetime
    level: str
    logger: str
    message: str
    request_id: str


def request_count(*, status: int) -> None:
    """Count one served request (a 5xx also counts as an error) in the current minute."""
    minute = int(time.time()) // 60  # a datetime only when written: this runs on every request
    with _lock:
        counts = _minutes.setdefault(minute, [0, 0])
        counts[0] += 1
        if status >= 500:
            counts[1] += 1
    _ensure_flusher()


def problem_record(record: logging.LogRecord, message: str) -> None:
    if getattr(_in_flush, "active", False):
        return  # the flusher's own failures must not feed themselves
    with _lock:
        _problems.append(
            Problem(
                created=datetime.fromtimestamp(record.created, tz=UTC),
                level=record.levelname[:10],
                logger=record.name[:100],
                message=message[:1000],
                request_id=str(getattr(record, "request_id", "-"))[:128],
            )
        )
    _ensure_flusher()


class RecentProblemsFilter(logging.Filter):
    """Keep WARNING-or-worse records for the status page (redacted); never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            from .logs import redact

            try:
                message = record.getMessage()
            except Exception:
                message = str(record.msg)
            if record.exc_info and record.exc_info[1] is not None:
                message = f"{message} ({type(record.exc_info[1]).__name__})"
            problem_record(record, redact(message))
        return True


def flush() -> None:
    """Write what this process gathered to the tables and trim them. Safe to call any time."""
    with _lock:
        minutes = dict(_minutes)
        _minutes.clear()
        problems = list(_problems)
        _problems.clear()
    if not minutes and not problems:
        return
    from .models import ProblemLog, RequestMinute

    _in_flush.active = True
    try:
        with transaction.atomic():
            for minute, (requests, errors) in sorted(minutes.items()):
                row, created = RequestMinute.objects.get_or_create(
                    minute=datetime.fromtimestamp(minute * 60, tz=UTC),
                    defaults={"requests": requests, "errors": errors},
                )
                if not created:
                    RequestMinute.objects.filter(pk=row.pk).update(
                        requests=F("requests") + requests, errors=F("errors") + errors
                    )
            ProblemLog.objects.bulk_create(
                ProblemLog(
                    created=p.created,
                    level=p.level,
                    logger=p.logger,
                    message=p.message,
                    request_id=p.request_id,
                )
                for p in problems
            )
            horizon = datetime.now(tz=UTC) - timedelta(minutes=KEEP_MINUTES)
            RequestMinute.objects.filter(minute__lt=horizon).delete()
            keep = ProblemLog.objects.values_list("id", flat=True)[
                KEEP_PROBLEMS : KEEP_PROBLEMS + 1
            ]
            oldest_kept = list(keep)
            if oldest_kept:
                ProblemLog.objects.filter(id__lte=oldest_kept[0]).delete()
    except Exception:
        # The database is away: put the counts back (bounded) and try again next time.
        with _lock:
            for minute, (requests, errors) in minutes.items():
                counts = _minutes.setdefault(minute, [0, 0])
                counts[0] += requests
                counts[1] += errors
            while len(_minutes) > KEEP_MINUTES:
                del _minutes[min(_minutes)]
            _problems.extendleft(reversed(problems))
    finally:
        _in_flush.active = False


def _flush_and_close() -> None:
    try:
        flush()
    finally:
        with contextlib.suppress(Exception):
            connections.close_all()  # this thread's connections only


_flusher = PeriodicThread(
    "kore-ops-flush",
    _flush_and_close,
    lambda: float(getattr(settings, "KORE_OPS_FLUSH_SECONDS", 10)),
)
_ensure_flusher = _flusher.ensure_started
