"""Retention: the newest N good backups and those younger than D days stay; never the last good."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from kore.backups.models import Backup
from kore.backups.services import PARTIAL, backup_retention_apply, retention_plan

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def _name(days_ago: float) -> str:
    return f"production_{(NOW - timedelta(days=days_ago)).strftime('%Y%m%dT%H%M%SZ')}"


def test_keeps_the_newest_n_and_the_young_ones() -> None:
    backups = [(_name(d), True) for d in (1, 2, 40, 50, 60, 70)]
    doomed = retention_plan(backups, keep_last=3, keep_days=30, now=NOW)
    assert doomed == [_name(50), _name(60), _name(70)]
    doomed = retention_plan(backups, keep_last=1, keep_days=30, now=NOW)
    assert doomed == [_name(40), _name(50), _name(60), _name(70)]


def test_bad_backups_do_not_count_towards_the_newest_n() -> None:
    backups = [(_name(40), False), (_name(50), True), (_name(60), True)]
    assert retention_plan(backups, keep_last=1, keep_days=30, now=NOW) == [_name(40), _name(60)]


def test_never_deletes_the_only_good_backup() -> None:
    backups = [(_name(100), False), (_name(200), True), (_name(300), False)]
    doomed = retention_plan(backups, keep_last=0, keep_days=0, now=NOW)
    assert _name(200) not in doomed
    assert sorted(doomed) == sorted([_name(100), _name(300)])


@pytest.mark.django_db
def test_apply_deletes_directories_and_rows(settings, tmp_path: Path) -> None:
    settings.KORE_BACKUP_DIR = tmp_path
    settings.KORE_BACKUP_KEEP_LAST = 1
    settings.KORE_BACKUP_KEEP_DAYS = 30
    now = timezone.now()
    names = []
    for days, status in (
        (0.1, Backup.Status.FAILED),
        (45, Backup.Status.VERIFIED),
        (60, "complete"),
    ):
        when = now - timedelta(days=days)
        name = f"production_{when.strftime('%Y%m%dT%H%M%SZ')}"
        (tmp_path / name).mkdir()
        (tmp_path / name / "MANIFEST.txt").write_text("x")
        Backup.objects.create(
            environment="production", path=str(tmp_path / name), status=status, started_at=when
        )
        names.append(name)
    other_env = tmp_path / "staging_20200101T000000Z"
    other_env.mkdir()
    (other_env / "MANIFEST.txt").write_text("x")
    orphan = tmp_path / f"{PARTIAL}production_20200101T000000Z"  # a writer that died long ago
    orphan.mkdir()

    assert backup_retention_apply(environment="production") == [names[2]]

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [names[0], names[1], other_env.name]
    )
    assert not Backup.objects.filter(path=str(tmp_path / names[2])).exists()


@pytest.mark.django_db
def test_by_default_the_disk_keeps_only_the_latest_three_backups(settings, tmp_path: Path) -> None:
    settings.KORE_BACKUP_DIR = tmp_path  # retention as configured by default, only the place moved
    now = timezone.now()
    names = []
    for nightly in range(5):  # five nights in a row, all well inside 30 days
        name = f"production_{(now - timedelta(days=nightly)).strftime('%Y%m%dT%H%M%SZ')}"
        (tmp_path / name).mkdir()
        (tmp_path / name / "MANIFEST.txt").write_text("x")
        names.append(name)

    backup_retention_apply(environment="production")

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[:3])
