"""Beat's default schedule holds the nightly backup and the weekly verify, in KORE_TIME_ZONE."""

import pytest
from django.conf import settings
from django_celery_beat.models import PeriodicTask

from config.celery_app import app

pytestmark = pytest.mark.django_db


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
