"""Backups on the real PostgreSQL: snapshot consistency, verify, refusal of damaged backups."""

import threading
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from kore.backups.manifest import BackupError, BackupInvalid, manifest_read
from kore.backups.models import Backup
from kore.backups.selectors import backup_last_good
from kore.backups.services import backup_create, backup_verify
from kore.ledger.models import Transaction

from .conftest import Ledger, add_transaction, scratch_databases


def test_backup_writes_a_whole_directory_with_a_sealed_manifest(ledger: Ledger) -> None:
    backup = backup_create()
    path = Path(backup.path)
    assert path.name.startswith("test_")
    assert path.is_dir()
    assert sorted(p.name for p in path.iterdir()) == [
        "MANIFEST.txt",
        "config.tar.gz",
        "database.dump",
        "media.tar.gz",
    ]
    manifest = manifest_read(path)
    assert manifest.tables["ledger_transaction"][0] == 5
    assert manifest.tables["orgs_organization"][0] == 2
    assert ("ledger", "0001_initial") in manifest.migrations
    assert manifest.meta["environment"] == "test"
    assert manifest.meta["hostname"]
    assert manifest.meta["kore_version"]
    assert backup.status == Backup.Status.COMPLETE
    assert backup.size_bytes
    assert backup_last_good() == backup


def test_backup_under_concurrent_writes_verifies(ledger: Ledger) -> None:
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        from django.db import connection

        try:
            while not stop.is_set():
                written.append(add_transaction(ledger))
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 3:  # the writer is under way before the snapshot
            threading.Event().wait(0.01)
        backup = backup_create()
        after_backup = len(written)
        while len(written) < after_backup + 3:  # ... and goes on after it
            threading.Event().wait(0.01)
    finally:
        stop.set()
        thread.join(timeout=30)
    counted = manifest_read(Path(backup.path)).tables["ledger_transaction"][0]
    assert 5 + 3 <= counted < Transaction.objects.count()
    verified = backup_verify(path=Path(backup.path))
    assert verified is not None
    assert verified.status == Backup.Status.VERIFIED
    assert verified.verified_at is not None
    assert scratch_databases() == []


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["flipped", "truncated"])
def test_damaged_dump_is_refused_by_restore_and_verify(ledger: Ledger, damage: str) -> None:
    backup = backup_create()
    dump = Path(backup.path) / "database.dump"
    if damage == "flipped":
        _flip_byte(dump, dump.stat().st_size // 2)
    else:
        dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    new_id = add_transaction(ledger)
    with pytest.raises(CommandError, match="Refusing to restore: database.dump"):
        call_command("restore", backup.path, "--yes")
    with pytest.raises(CommandError, match="database.dump"):
        call_command("backup", "--verify", backup.path)
    assert Transaction.objects.filter(pk=new_id).exists()  # the database was not touched
    assert Transaction.objects.count() == 6
    assert scratch_databases() == []
    assert Backup.objects.get(pk=backup.pk).status == Backup.Status.FAILED


def test_truncated_manifest_is_refused(ledger: Ledger) -> None:
    backup = backup_create()
    manifest = Path(backup.path) / "MANIFEST.txt"
    manifest.write_text(manifest.read_text()[:-200])
    with pytest.raises(BackupInvalid, match="seal"):
        backup_verify(path=Path(backup.path))


def test_backup_from_newer_code_is_refused(ledger: Ledger) -> None:
    backup = backup_create()
    path = Path(backup.path)
    manifest = manifest_read(path)
    manifest.migrations.append(("ledger", "9999_from_the_future"))
    (path / "MANIFEST.txt").write_text(manifest.render())
    new_id = add_transaction(ledger)
    with pytest.raises(CommandError, match=r"ledger\.9999_from_the_future"):
        call_command("restore", str(path), "--yes")
    assert Transaction.objects.filter(pk=new_id).exists()


def test_failed_dump_leaves_no_directory_and_a_failed_row(ledger: Ledger, settings) -> None:
    settings.KORE_PG_DUMP = "false"
    with pytest.raises(BackupError, match="pg_dump failed"):
        backup_create()
    assert list(Path(settings.KORE_BACKUP_DIR).iterdir()) == []
    row = Backup.objects.get()
    assert row.status == Backup.Status.FAILED
    assert "pg_dump" in row.error
    assert backup_last_good() is None
