"""Celery beat with the database scheduler, one per environment.

Redis keeps nothing across restarts here, so the lock lives in PostgreSQL: a session-level
advisory lock held on a dedicated connection for the life of the beat process. A second beat
waits on it and takes over when the first one dies (its connection closes, the lock goes).
When PostgreSQL restarts, the lock goes with every connection: before each tick the holder checks
its lock connection and, if it broke, schedules nothing until it holds the lock again.

On SQLite (the embedded runtime, `make run`) there is no advisory lock: the same rule is kept with
an exclusive ``flock`` on a file beside the database, released by the kernel when the process dies.
"""

import contextlib
import fcntl
import logging
from pathlib import Path
from typing import IO, Any

import psycopg
from django.conf import settings
from django.db import connection
from django_celery_beat.schedulers import DatabaseScheduler

from config.env import env

logger = logging.getLogger(__name__)
BEAT_LOCK_ID = 0x4B6F7265_42656174  # "KoreBeat"


def _conninfo() -> dict[str, Any]:
    """Where the lock lives: PostgreSQL itself. Behind PgBouncer in transaction mode a session
    lock would sit on whichever pooled server connection ran it, so ``KORE_BEAT_LOCK_DATABASE_URL``
    points the lock straight at the server (default: ``DATABASE_URL``)."""
    direct = settings.KORE_BEAT_LOCK_DATABASE_URL
    db = env.db_url_config(direct) if direct else settings.DATABASES["default"]
    return {
        "dbname": db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "autocommit": True,
    }


def beat_file_lock_acquire(path: Path) -> IO[bytes]:
    """Block until this process holds the lock file at ``path``; keep the returned file open."""
    held = path.open("ab")
    logger.info("beat: waiting for the single-beat lock file %s", path.name)
    fcntl.flock(held, fcntl.LOCK_EX)
    logger.info("beat: lock acquired; this beat schedules")
    return held


def beat_lock_acquire() -> psycopg.Connection[Any] | None:
    """Block until this process holds the beat lock; keep the returned connection open."""
    if connection.vendor == "sqlite":
        if SingleBeatScheduler._lock_file is None:
            name = Path(str(settings.DATABASES["default"]["NAME"]))
            SingleBeatScheduler._lock_file = beat_file_lock_acquire(
                name.with_name(f"{name.name}.beat.lock")
            )
        return None
    if connection.vendor != "postgresql":
        return None
    held = psycopg.connect(**{k: v for k, v in _conninfo().items() if v is not None})
    logger.info("beat: waiting for the single-beat lock")
    held.execute("SELECT pg_advisory_lock(%s)", [BEAT_LOCK_ID])
    logger.info("beat: lock acquired; this beat schedules")
    return held


def beat_lock_held(held: psycopg.Connection[Any]) -> bool:
    """True while the connection holding the lock still answers (the lock lives with it)."""
    try:
        held.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


# While the lock is lost (PostgreSQL away), beat looks again after this many seconds.
LOCK_RETRY_SECONDS = 1.0


class SingleBeatScheduler(DatabaseScheduler):  # type: ignore[misc]
    """django-celery-beat's scheduler behind a PostgreSQL advisory lock (a lock file on SQLite)."""

    _lock_connection: psycopg.Connection[Any] | None = None
    _lock_file: IO[bytes] | None = None

    def setup_schedule(self) -> None:
        if SingleBeatScheduler._lock_connection is None:
            SingleBeatScheduler._lock_connection = beat_lock_acquire()
        super().setup_schedule()

    def tick(self, *args: Any, **kwargs: Any) -> float:
        held = SingleBeatScheduler._lock_connection
        if held is not None and not beat_lock_held(held):
            # A PostgreSQL restart dropped the lock: another beat may hold it now. Schedule
            # nothing until this one has it again (waiting, like a standby, if another does).
            logger.warning("beat: the single-beat lock's connection broke; taking the lock again")
            with contextlib.suppress(psycopg.Error):
                held.close()
            try:
                SingleBeatScheduler._lock_connection = beat_lock_acquire()
            except psycopg.Error:
                return LOCK_RETRY_SECONDS  # PostgreSQL still away; keep the broken one to retry
        return float(super().tick(*args, **kwargs))
