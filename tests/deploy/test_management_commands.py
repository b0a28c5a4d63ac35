"""The entrypoint's database steps: wait_for_db (a real query, bounded backoff) and
migrate_locked (migrate under a PostgreSQL advisory lock, so two replicas never race)."""

import sys
import time
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from kore.ops.management.commands.migrate_locked import MIGRATE_LOCK_ID

from .helpers import ROOT, clean_env

pytestmark = pytest.mark.django_db(transaction=True)


def _other_connection() -> psycopg.Connection:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


def test_wait_for_db_answers_at_once():
    out = StringIO()
    call_command("wait_for_db", "--timeout", "5", stdout=out)
    assert "answered (attempt 1)" in out.getvalue()


def test_wait_for_db_gives_up_after_its_timeout():
    import subprocess

    env = clean_env(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL="postgres://postgres@127.0.0.1:1/nothing",  # nothing listens on port 1
    )
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "manage.py", "wait_for_db", "--timeout", "2", "--delay", "0.2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "did not answer after" in proc.stderr
    assert proc.stderr.count("retrying") >= 2  # backoff, not a single probe
    assert time.monotonic() - started < 30


def test_migrate_locked_migrates_and_releases_the_lock():
    call_command("migrate_locked", "--noinput", verbosity=0)
    with _other_connection() as other:
        (taken,) = other.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATE_LOCK_ID]).fetchone()
        assert taken, "the lock was released after migrating"
        other.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK_ID])


def test_migrate_locked_waits_for_another_migrator():
    err = StringIO()
    with _other_connection() as other:
        other.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK_ID])
        started = time.monotonic()
        with pytest.raises(CommandError, match="held the lock"):
            call_command(
                "migrate_locked", "--lock-timeout", "1", "--poll", "0.2", stderr=err, verbosity=0
            )
        assert time.monotonic() - started >= 1
    assert "another process is migrating; waiting" in err.getvalue()
