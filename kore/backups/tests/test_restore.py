"""manage.py restore on the real PostgreSQL: deleted rows and media come back; health is printed."""

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection
from psycopg import sql

from kore.backups import pg
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


def test_restore_through_a_command_beside_the_server(ledger: Ledger, settings) -> None:
    """KORE_PG_RESTORE's form (e.g. `docker compose exec -T postgres pg_restore`): the command
    gets only the user and the database name, and restores into the new database by that name."""
    db = connection.settings_dict
    settings.KORE_PG_RESTORE = f"pg_restore -h {db['HOST']} -p {db['PORT']}"
    backup = backup_create()
    Transaction.objects.filter(amount="12.50").delete()

    call_command("restore", backup.path, "--yes", stdout=io.StringIO())

    assert Transaction.objects.filter(amount="12.50").count() == 4


def _database_properties(name: str) -> tuple[object, ...]:
    with pg.connect("postgres") as conn:
        row = conn.execute(
            "SELECT pg_get_userbyid(d.datdba), d.encoding, d.datcollate, d.datctype, "
            "d.datconnlimit, (SELECT array_agg(a::text ORDER BY a::text) FROM unnest(d.datacl) a), "
            "(SELECT setconfig FROM pg_db_role_setting WHERE setdatabase = d.oid AND setrole = 0) "
            "FROM pg_database d WHERE d.datname = %s",
            [name],
        ).fetchone()
    assert row is not None
    return tuple(row)


@pytest.fixture
def database_with_settings() -> Iterator[str]:
    """The test database with its own settings and privileges, put back to defaults afterwards."""
    name = connection.settings_dict["NAME"]
    statements = [
        "ALTER DATABASE {} SET statement_timeout = '123s'",
        "ALTER DATABASE {} CONNECTION LIMIT 90",
        "REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC",
    ]
    with pg.connect("postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(sql.SQL(statement).format(sql.Identifier(name)))
    yield name
    with pg.connect("postgres", autocommit=True) as conn:
        for statement in (
            "ALTER DATABASE {} RESET ALL",
            "ALTER DATABASE {} CONNECTION LIMIT -1",
            "GRANT TEMPORARY ON DATABASE {} TO PUBLIC",
        ):
            conn.execute(sql.SQL(statement).format(sql.Identifier(name)))


def test_the_restored_database_keeps_the_owner_privileges_and_settings(
    ledger: Ledger, database_with_settings: str
) -> None:
    before = _database_properties(database_with_settings)
    backup = backup_create()

    call_command("restore", backup.path, "--yes", stdout=io.StringIO())

    assert _database_properties(database_with_settings) == before
