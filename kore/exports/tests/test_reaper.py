"""The export reaper: stalled jobs are re-queued, waiting ones re-sent, exhausted ones failed."""

import importlib
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from config.celery_app import app as celery_app
from kore.exports import services, tasks
from kore.exports.models import ExportJob

from .conftest import record

pytestmark = pytest.mark.django_db
schedule = importlib.import_module("kore.exports.migrations.0002_reaper_schedule")


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    """The job ids handed to the worker (nothing runs)."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.run_export, "delay", lambda job_id: ids.append(job_id))
    return ids


def job(world, status: str, *, age: int = 0, attempts: int = 0) -> ExportJob:
    """An export job whose heartbeat and last update lie ``age`` seconds in the past."""
    created = ExportJob.objects.create(
        organization=world.org, created_by=world.member, filename="x.xlsx", status=status,
        attempts=attempts,
    )  # fmt: skip
    moment = timezone.now() - timedelta(seconds=age)
    running = status == ExportJob.Status.RUNNING
    ExportJob.objects.filter(pk=created.pk).update(
        updated_at=moment,
        heartbeat_at=moment if running else None,
        claim=uuid.uuid4() if running else None,
    )
    created.refresh_from_db()
    return created


def test_a_stalled_running_job_is_requeued_and_sent_again(world, settings, sent):
    settings.KORE_EXPORT_STALE_SECONDS = 900
    stalled = job(world, "running", age=901, attempts=1)
    reaped = services.export_jobs_reap()
    assert reaped == {"failed": [], "requeued": [stalled.pk], "resent": []}
    assert sent == [stalled.pk]
    stalled.refresh_from_db()
    assert stalled.status == "queued"
    assert stalled.claim is None
    assert stalled.attempts == 1  # counted again when a worker claims it


def test_a_queued_job_left_waiting_is_sent_again(world, settings, sent):
    settings.KORE_EXPORT_STALE_SECONDS = 900
    waiting = job(world, "queued", age=901)
    before = waiting.updated_at
    assert services.export_jobs_reap()["resent"] == [waiting.pk]
    assert sent == [waiting.pk]
    waiting.refresh_from_db()
    assert waiting.status == "queued"
    assert waiting.updated_at > before  # not re-sent again at the next sweep
    assert services.export_jobs_reap()["resent"] == []


def test_live_and_finished_jobs_are_left_alone(world, settings, sent):
    settings.KORE_EXPORT_STALE_SECONDS = 900
    jobs = [
        job(world, "running", age=60, attempts=1),
        job(world, "queued", age=60),
        job(world, "done", age=10_000, attempts=1),
        job(world, "failed", age=10_000, attempts=5),
    ]
    assert services.export_jobs_reap() == {"failed": [], "requeued": [], "resent": []}
    assert sent == []
    for one in jobs:
        status = one.status
        one.refresh_from_db()
        assert one.status == status


def test_the_deadline_follows_the_setting(world, settings, sent):
    stalled = job(world, "running", age=120, attempts=1)
    settings.KORE_EXPORT_STALE_SECONDS = 900
    assert services.export_jobs_reap()["requeued"] == []
    settings.KORE_EXPORT_STALE_SECONDS = 60
    assert services.export_jobs_reap()["requeued"] == [stalled.pk]


@pytest.mark.parametrize("status", ["running", "queued"])
def test_a_job_out_of_attempts_fails(world, settings, sent, status):
    settings.KORE_EXPORT_STALE_SECONDS = 900
    exhausted = job(world, status, age=901, attempts=ExportJob.MAX_ATTEMPTS)
    assert services.export_jobs_reap() == {"failed": [exhausted.pk], "requeued": [], "resent": []}
    assert sent == []
    exhausted.refresh_from_db()
    assert exhausted.status == "failed"
    assert exhausted.error_code == "export_attempts_exhausted"
    assert exhausted.claim is None
    assert exhausted.finished_at is not None


def test_a_requeued_job_runs_to_done(world, account, settings, monkeypatch, media_root):
    settings.KORE_EXPORT_STALE_SECONDS = 900
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    record(world, account, [{"amount": Decimal(i)} for i in range(3)])
    stalled = job(world, "running", age=901, attempts=2)
    assert tasks.reap_stale_exports.apply().result == 1
    stalled.refresh_from_db()
    assert stalled.status == "done"
    assert stalled.attempts == 3
    assert stalled.rows_written == 3


def test_the_reaper_is_scheduled_every_five_minutes(db):
    # Tests flush migration data; the data step is idempotent, like the migration.
    schedule.create(django_apps, None)
    schedule.create(django_apps, None)
    (task,) = PeriodicTask.objects.filter(name=schedule.NAME)
    assert task.task == "kore.exports.reap_stale"
    assert task.crontab.minute == "*/5"
    assert task.crontab.hour == "*"
    celery_app.loader.import_default_modules()
    assert task.task in celery_app.tasks
