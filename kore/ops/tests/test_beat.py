"""Beat: the default schedule exists after migrate, and only one beat holds the lock."""

import importlib

import psycopg
import pytest
from django.apps import apps as django_apps
from django_celery_beat.models import PeriodicTask

from config.celery_app import app
from kore.ops.beat import BEAT_LOCK_ID, _conninfo, beat_lock_acquire

default_schedule = importlib.import_module("kore.ops.migrations.0001_default_schedule")


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
    params = {k: v for k, v in _conninfo().items() if v is not None}
    with psycopg.connect(**params) as other:
        got = other.execute("SELECT pg_try_advisory_lock(%s)", [BEAT_LOCK_ID]).fetchone()[0]
        assert got is False
        held.close()  # the first beat dies: its lock goes with its connection
        got = other.execute("SELECT pg_try_advisory_lock(%s)", [BEAT_LOCK_ID]).fetchone()[0]
        assert got is True
