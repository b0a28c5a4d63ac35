"""manage.py restore on the real PostgreSQL: deleted rows and media come back; health is printed."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection

from kore.backups.services import backup_create
from kore.ledger.models import Attachment, Transaction

from .conftest import Ledger, add_transaction


def test_restore_brings_back_deleted_rows_and_media(ledger: Ledger) -> None:
    backup = backup_create()
    media_name = ledger.attachment.path
    before = set(Transaction.objects.values_list("pk", "amount"))
    later = add_transaction(ledger, "99.00")
    Transaction.objects.filter(amount="12.50").delete()
    default_storage.delete(media_name)
    assert not default_storage.exists(media_name)

    out = io.StringIO()
    call_command("restore", backup.path, "--yes", stdout=out)

    assert set(Transaction.objects.values_list("pk", "amount")) == before
    assert not Transaction.objects.filter(pk=later).exists()
    assert Attachment.objects.filter(pk=ledger.attachment.pk).exists()
    assert default_storage.open(media_name).read() == b"%PDF-1.4 receipt\n"
    assert "Health:" in out.getvalue()
    assert "database: ok" in out.getvalue()


def test_restore_asks_first_and_changes_nothing_without_yes(ledger: Ledger, monkeypatch) -> None:
    backup = backup_create()
    later = add_transaction(ledger)
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="Not confirmed"):
        call_command("restore", backup.path)
    assert Transaction.objects.filter(pk=later).exists()


def test_refused_restore_exits_non_zero(tmp_path: Path) -> None:
    """The real command line: an operator's script sees the failure in the exit status."""
    fake = tmp_path / "production_20260101T000000Z"
    fake.mkdir()
    (fake / "database.dump").write_bytes(b"PGDMP not really")
    done = subprocess.run(
        [sys.executable, "manage.py", "restore", str(fake), "--yes"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
    )
    assert done.returncode == 1
    assert "Refusing to restore" in done.stderr
    assert "MANIFEST.txt" in done.stderr


def test_restore_of_a_backup_older_than_the_schema_drops_newer_tables(ledger: Ledger) -> None:
    """Restoring last week's backup after an upgrade that added a table still migrates."""
    with connection.cursor() as cursor:  # the database as it was before the exports app existed
        cursor.execute("DROP TABLE exports_exportjob CASCADE")
        cursor.execute("DELETE FROM django_migrations WHERE app = 'exports'")
    backup = backup_create()
    call_command("migrate", verbosity=0)  # the upgrade
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('exports_exportjob')")
        assert cursor.fetchone()[0] is not None

    call_command("restore", backup.path, "--yes", stdout=io.StringIO())

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'exports'")
        assert cursor.fetchone()[0] == 2  # recreated by the migrations run after the restore
    assert Transaction.objects.count() == 5


def test_backup_of_the_embedded_sqlite_runtime_says_what_to_do(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings.local", "KORE_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "manage.py", "backup"],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Backups need PostgreSQL" in done.stderr
    assert not (tmp_path / "backups").exists()
