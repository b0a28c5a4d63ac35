"""Beat's default schedule holds the nightly backup and the weekly verify, in KORE_TIME_ZONE; one
backup at a time (nightly or manual), one per broker message however often it is delivered."""

import shutil
import threading
import time
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django_celery_beat.models import PeriodicTask

from config.celery_app import app
from kore.backups.models import Backup
from kore.backups.tasks import nightly_backup, verify_latest_backup


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
    settings.KORE_BACKUP_KEEP_LAST = 1
    settings.KORE_BACKUP_KEEP_DAYS = 0
    first = nightly_backup()
    first_path = Path(Backup.objects.get(pk=first).path)
    second = nightly_backup()
    assert not first_path.exists()  # expired: only the newest good one is kept
    assert not Backup.objects.filter(pk=first).exists()
    assert verify_latest_backup() == second
    assert Backup.objects.get(pk=second).status == Backup.Status.VERIFIED


@pytest.fixture
def dump_starts(backup_dirs, settings, tmp_path: Path) -> Path:
    """pg_dump behind a wrapper that records each start (one line) and takes 3 s longer: long
    enough for a second delivery or a manual backup to arrive while the first still dumps."""
    db = connection.settings_dict
    starts = tmp_path / "pg_dump_starts"
    starts.touch()
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
    return starts


def in_thread(results: list[object], fn: Callable[[], object]) -> threading.Thread:
    """``fn`` in a thread of its own (with its own database connection), its result or error
    appended to ``results``."""

    def run() -> None:
        try:
            results.append(fn())
        except Exception as error:  # the test asserts on it
            results.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_for_dump(starts: Path) -> None:
    deadline = time.monotonic() + 60
    while not starts.read_text().strip():
        assert time.monotonic() < deadline, "pg_dump never started"
        time.sleep(0.05)


def deliver(task_id: str) -> Callable[[], object]:
    """One delivery of the nightly task's message ``task_id``, as a worker runs it."""
    return lambda: nightly_backup.apply(task_id=task_id).get()


def test_a_redelivered_nightly_task_does_not_start_a_second_pg_dump(
    ledger, dump_starts: Path
) -> None:
    results: list[object] = []
    first = in_thread(results, deliver("nightly-2026-12-06"))
    wait_for_dump(dump_starts)  # the second delivery arrives while the first dumps
    second = in_thread(results, deliver("nightly-2026-12-06"))
    for thread in (first, second):
        thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in (first, second))
    assert len(dump_starts.read_text().split()) == 1
    assert Backup.objects.filter(status=Backup.Status.COMPLETE).count() == 1
    assert sorted(results, key=str) == sorted([None, Backup.objects.get().pk], key=str)


def test_a_nightly_task_delivered_again_after_it_finished_dumps_nothing(
    ledger, dump_starts: Path
) -> None:
    """The worker died after the backup but before acknowledging the message: the broker
    delivers it again, and that delivery finds the backup its message already wrote."""
    first = nightly_backup.apply(task_id="nightly-2026-12-07").get()
    again = nightly_backup.apply(task_id="nightly-2026-12-07").get()

    assert len(dump_starts.read_text().split()) == 1
    assert again == first
    assert list(Backup.objects.values_list("pk", "task_id")) == [(first, "nightly-2026-12-07")]
    # The next night's message is another task: it backs up again.
    assert nightly_backup.apply(task_id="nightly-2026-12-08").get() not in (None, first)
    assert len(dump_starts.read_text().split()) == 2


def test_a_manual_backup_is_refused_while_the_nightly_one_runs(ledger, dump_starts: Path) -> None:
    results: list[object] = []
    nightly = in_thread(results, deliver("nightly-2026-12-09"))
    wait_for_dump(dump_starts)
    out = StringIO()
    with pytest.raises(CommandError, match="Another backup of this database is running"):
        call_command("backup", stdout=out)
    nightly.join(timeout=120)

    assert len(dump_starts.read_text().split()) == 1
    assert results == [Backup.objects.get().pk]
    assert Backup.objects.get().task_id == "nightly-2026-12-09"


def test_a_nightly_delivery_exits_while_a_manual_backup_runs(ledger, dump_starts: Path) -> None:
    results: list[object] = []
    manual = in_thread(results, lambda: call_command("backup", stdout=StringIO()))
    wait_for_dump(dump_starts)
    skipped = nightly_backup.apply(task_id="nightly-2026-12-10").get()
    manual.join(timeout=120)

    assert skipped is None
    assert results == [None]  # the command finished without an error
    assert len(dump_starts.read_text().split()) == 1
    assert Backup.objects.get().task_id == ""  # the manual one
