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


def test_a_redelivered_nightly_task_does_not_start_a_second_pg_dump(
    ledger, backup_dirs, settings, tmp_path
) -> None:
    import shutil
    import threading
    import time

    from django.db import connection, connections

    from kore.backups.models import Backup
    from kore.backups.tasks import nightly_backup

    # pg_dump behind a wrapper that records each start and takes long enough for the broker's
    # second delivery of the same message to arrive while the first still dumps.
    db = connection.settings_dict
    starts = tmp_path / "pg_dump_starts"
    wrapper = tmp_path / "slow_pg_dump"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'echo "$$" >> "{starts}"\n'
        "sleep 3\n"
        f'exec {shutil.which("pg_dump")} -h "{db["HOST"] or "127.0.0.1"}" '
        f'-p "{db["PORT"] or 5432}" "$@"\n'
    )
    wrapper.chmod(0o755)
    settings.KORE_PG_DUMP = str(wrapper)
    results: list[object] = []

    def deliver() -> None:
        try:
            results.append(nightly_backup.apply(task_id="nightly-2026-12-06").get())
        finally:
            connections.close_all()

    first, second = (threading.Thread(target=deliver) for _ in range(2))
    first.start()
    deadline = time.monotonic() + 60  # the second delivery arrives while the first dumps
    while not (starts.exists() and starts.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    second.start()
    deliveries = [first, second]
    for thread in deliveries:
        thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in deliveries)
    assert len(starts.read_text().split()) == 1
    assert Backup.objects.filter(status=Backup.Status.COMPLETE).count() == 1
    assert sorted(results, key=str) == sorted([None, Backup.objects.get().pk], key=str)
