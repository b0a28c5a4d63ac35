"""Beat's default schedule holds the nightly backup and the weekly verify, in KORE_TIME_ZONE."""

import pytest
from django.conf import settings
from django_celery_beat.models import PeriodicTask

from config.celery_app import app


@pytest.mark.django_db
def test_nightly_backup_and_weekly_verify_are_scheduled() -> None:
    nightly = PeriodicTask.objects.get(name="Nightly backup")
    weekly = PeriodicTask.objects.get(name="Weekly backup verify")
    assert (nightly.crontab.hour, nightly.crontab.minute, nightly.crontab.day_of_week) == (
        "2",
        "0",
        "*",
    )
    assert (weekly.crontab.hour, weekly.crontab.day_of_week) == ("4", "0")
    assert str(nightly.crontab.timezone) == settings.CELERY_TIMEZONE
    app.loader.import_default_modules()
    assert {nightly.task, weekly.task} <= set(app.tasks)


def test_nightly_task_backs_up_and_expires_and_weekly_task_verifies(ledger, settings) -> None:
    from pathlib import Path

    from kore.backups.models import Backup
    from kore.backups.tasks import nightly_backup, verify_latest_backup

    settings.KORE_BACKUP_KEEP_LAST = 1
    settings.KORE_BACKUP_KEEP_DAYS = 0
    first = nightly_backup()
    first_path = Path(Backup.objects.get(pk=first).path)
    second = nightly_backup()
    assert not first_path.exists()  # expired: only the newest good one is kept
    assert not Backup.objects.filter(pk=first).exists()
    assert verify_latest_backup() == second
    assert Backup.objects.get(pk=second).status == Backup.Status.VERIFIED
