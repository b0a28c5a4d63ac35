"""Backups are owner-only (they hold password hashes): 0700 directories, 0600 files."""

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command

from kore.backups.services import backup_create
from kore.ledger.models import Transaction

from .conftest import Ledger


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which plain open() and mkdir() make world-readable files."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def modes(root: Path) -> dict[str, int]:
    """Permission bits of the root and of everything under it, by path relative to the root."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_a_backup_is_readable_by_its_owner_alone(
    ledger: Ledger, backup_dirs: Path, umask_022
) -> None:
    backup_dirs.mkdir(mode=0o755)  # a root made earlier, by hand or by an older Kore
    backup = backup_create()
    name = Path(backup.path).name

    assert modes(backup_dirs) == {
        ".": 0o700,
        name: 0o700,
        f"{name}/database.dump": 0o600,
        f"{name}/media.tar.gz": 0o600,
        f"{name}/config.tar.gz": 0o600,
        f"{name}/MANIFEST.txt": 0o600,
    }


def test_an_owner_only_backup_still_restores(ledger: Ledger, backup_dirs: Path, umask_022) -> None:
    backup = backup_create()
    Transaction.objects.filter(amount="12.50").delete()

    call_command("restore", backup.path, "--yes", stdout=io.StringIO())

    assert Transaction.objects.filter(amount="12.50").count() == 4
