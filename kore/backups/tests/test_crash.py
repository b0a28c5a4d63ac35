"""A backup killed mid-way leaves nothing that looks like a whole backup."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from kore.backups.models import Backup
from kore.backups.services import PARTIAL, backup_retention_apply

from .conftest import Ledger

ROOT = Path(__file__).resolve().parents[3]


def test_killed_backup_leaves_only_a_partial_directory(
    ledger: Ledger, backup_dirs: Path, settings
) -> None:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "KORE_BACKUP_DIR": str(backup_dirs),
        "KORE_BACKUP_ENVIRONMENT": "test",
        # A pg_dump that is slow to finish: the kill lands while the dump is being written.
        "KORE_PG_DUMP": "sh -c 'sleep 60; exec pg_dump \"$@\"' pg_dump -h 127.0.0.1",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "backup"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(backup_dirs.glob(f"{PARTIAL}*/database.dump")):
            assert time.monotonic() < deadline, "the backup never started writing"
            assert process.poll() is None, "the backup stopped by itself"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    [partial] = list(backup_dirs.iterdir())
    assert partial.name.startswith(PARTIAL)
    assert Backup.objects.get().status == Backup.Status.RUNNING
    with pytest.raises(CommandError, match="unfinished backup"):
        call_command("restore", str(partial), "--yes")

    # Once the row is stale (past the time limit) retention clears the leftovers.
    settings.KORE_BACKUP_TIME_LIMIT = 0
    backup_retention_apply(environment="test")
    assert list(backup_dirs.iterdir()) == []
    assert Backup.objects.get().status == Backup.Status.FAILED
