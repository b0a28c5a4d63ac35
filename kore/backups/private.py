"""Owner-only directories and files for backups, whatever the process umask.

A backup holds every password hash, TOTP secret and token digest: its directories are 0700 and its
files 0600 from the moment they exist (an umask only ever removes bits, so the modes are also set
explicitly), and the backup root is 0700 so not even the names can be listed by others.
"""

import os
import stat
from pathlib import Path
from typing import BinaryIO

from kore.backups.manifest import BackupError

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path, *, exist_ok: bool = False) -> None:
    """Make ``path`` (its parents as usual) and leave it owner-only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=DIR_MODE, exist_ok=exist_ok)
        os.chmod(path, DIR_MODE)
    except PermissionError as exc:
        raise BackupError(f"{path} cannot be made owner-only (0700): {exc.strerror}.") from exc


def private_open(path: Path) -> BinaryIO:
    """A new file opened for writing, owner-only (0600) before the first byte is written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def private_tree(directory: Path) -> None:
    """Make a whole backup directory owner-only (for files written by a library, e.g. decrypted)."""
    os.chmod(directory, DIR_MODE)
    for entry in directory.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            private_tree(entry)
        elif stat.S_ISREG(entry.lstat().st_mode):
            os.chmod(entry, FILE_MODE)
