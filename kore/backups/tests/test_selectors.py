from datetime import timedelta

import pytest
from django.utils import timezone

from kore.backups.models import Backup
from kore.backups.selectors import backup_last_good

pytestmark = pytest.mark.django_db


def _backup(name: str, status: str, age_hours: int) -> Backup:
    return Backup.objects.create(
        environment="production",
        path=f"/backups/{name}",
        status=status,
        started_at=timezone.now() - timedelta(hours=age_hours),
    )


def test_last_good_is_none_without_a_finished_backup() -> None:
    _backup("a", Backup.Status.RUNNING, 1)
    _backup("b", Backup.Status.FAILED, 2)
    assert backup_last_good() is None


def test_last_good_is_the_newest_complete_or_verified_backup() -> None:
    _backup("old", Backup.Status.VERIFIED, 48)
    newest_good = _backup("new", Backup.Status.COMPLETE, 24)
    _backup("failed", Backup.Status.FAILED, 1)
    _backup("running", Backup.Status.RUNNING, 0)
    assert backup_last_good() == newest_good
