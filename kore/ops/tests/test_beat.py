"""Beat: the default schedule exists after migrate, and only one beat holds the lock."""

import fcntl
import importlib
from typing import Any

import psycopg
import pytest
from django.apps import apps as django_apps
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from config.celery_app import app
from kore.core.testing import wait_until
from kore.ops import beat
from kore.ops.beat import (
    BEAT_LOCK_ID,
    LOCK_RETRY_SECONDS,
    SingleBeatScheduler,
    _conninfo,
    beat_lock_acquire,
    beat_lock_held,
)

default_schedule = importlib.import_module("kore.ops.migrations.0001_default_schedule")

# PostgreSQL frees a session's advisory locks when its backend exits, a moment after the client
# closed the connection: a test waits for that, with a deadline, rather than expecting it at once.
RELEASE_TIMEOUT = 15


def _connect() -> psycopg.Connection[Any]:
    return psycopg.connect(**{k: v for k, v in _conninfo().items() if v is not None})


def _takes_the_lock(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", [BEAT_LOCK_ID]).fetchone()
    return bool(row and row[0])


def _wait_until_the_lock_is_free() -> None:
    with _connect() as probe:
        wait_until(
            lambda: _takes_the_lock(probe),
            timeout=RELEASE_TIMEOUT,
            what="the closed connection's beat lock to be released",
        )
        probe.execute("SELECT pg_advisory_unlock(%s)", [BEAT_LOCK_ID])


def test_default_schedule_is_created_by_migration(db):
    # Transactional tests flush tables (migration data included), so run the data step again:
    # it is idempotent, like the migration.
    default_schedule.create(django_apps, None)
    default_schedule.create(django_apps, None)
    tasks = list(PeriodicTask.objects.values_list("task", flat=True))
    assert len(tasks) == len(set(tasks))
    assert {
        "kore.ops.flush_expired_tokens",
        "kore.ops.purge_idempotency_keys",
        "kore.ops.purge_deleted_transactions",
    } <= set(tasks)


def test_every_scheduled_task_is_registered_with_celery(db):
    default_schedule.create(django_apps, None)
    app.loader.import_default_modules()
    for task in PeriodicTask.objects.exclude(task="celery.backend_cleanup"):
        assert task.task in app.tasks, task.task


@pytest.mark.django_db(transaction=True)
def test_a_second_beat_cannot_take_the_lock_while_the_first_holds_it():
    held = beat_lock_acquire()
    assert held is not None
    try:
        with _connect() as other:
            assert _takes_the_lock(other) is False
            held.close()  # the first beat dies: its lock goes with its connection
            wait_until(
                lambda: _takes_the_lock(other),
                timeout=RELEASE_TIMEOUT,
                what="the second beat to take the lock the first one's connection held",
            )
    finally:
        held.close()  # a failure above must not leave the next test waiting on the lock


@pytest.fixture
def scheduler(monkeypatch):
    """A SingleBeatScheduler without Celery around it; the parent's tick only counts calls."""
    ticks: list[float] = []

    def parent_tick(self, *args, **kwargs):
        ticks.append(5.0)
        return 5.0

    monkeypatch.setattr(DatabaseScheduler, "tick", parent_tick)
    monkeypatch.setattr(SingleBeatScheduler, "_lock_connection", None)
    instance = SingleBeatScheduler.__new__(SingleBeatScheduler)
    yield instance, ticks
    if SingleBeatScheduler._lock_connection is not None:
        SingleBeatScheduler._lock_connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_beat_whose_lock_connection_broke_takes_the_lock_again(scheduler):
    instance, ticks = scheduler
    broken = beat_lock_acquire()
    assert broken is not None
    broken.close()  # as a PostgreSQL restart leaves it: the lock is gone
    _wait_until_the_lock_is_free()
    SingleBeatScheduler._lock_connection = broken
    assert instance.tick() == 5.0
    held = SingleBeatScheduler._lock_connection
    assert held is not None
    assert held is not broken
    assert beat_lock_held(held)
    with _connect() as other:
        assert _takes_the_lock(other) is False  # this beat holds it again
    assert ticks == [5.0]


@pytest.mark.django_db(transaction=True)
def test_a_beat_schedules_nothing_while_postgresql_is_away(scheduler, monkeypatch):
    instance, ticks = scheduler
    broken = beat_lock_acquire()
    assert broken is not None
    broken.close()
    SingleBeatScheduler._lock_connection = broken

    def down():
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(beat, "beat_lock_acquire", down)
    assert instance.tick() == LOCK_RETRY_SECONDS
    assert ticks == []  # nothing scheduled without the lock
    SingleBeatScheduler._lock_connection = None


def test_on_sqlite_a_second_beat_cannot_take_the_lock_file_while_the_first_holds_it(tmp_path):
    path = tmp_path / "kore.sqlite3.beat.lock"
    held = beat.beat_file_lock_acquire(path)
    with path.open("ab") as other:
        with pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.close()  # the first beat dies: the kernel releases its lock
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
