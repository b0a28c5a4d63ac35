"""Backup tasks, scheduled by beat (kore/backups/migrations/0002_backup_schedule.py)."""

from celery import Task, shared_task
from django.conf import settings

from .scheduled import backup_nightly, backup_verify_latest


@shared_task(
    bind=True,
    name="kore.backups.nightly",
    time_limit=settings.KORE_BACKUP_TIME_LIMIT,
    soft_time_limit=settings.KORE_BACKUP_TIME_LIMIT - 60,
)
def nightly_backup(self: "Task[[], int | None]") -> int | None:
    # The task id stays the same on every delivery of one message.
    return backup_nightly(task_id=self.request.id or "")


@shared_task(
    name="kore.backups.verify_latest",
    time_limit=settings.KORE_BACKUP_TIME_LIMIT,
    soft_time_limit=settings.KORE_BACKUP_TIME_LIMIT - 60,
)
def verify_latest_backup() -> int | None:
    return backup_verify_latest()
