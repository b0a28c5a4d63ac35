"""MANIFEST.txt: what a backup holds, written last and checked before anything is restored.

A plain-text file an operator can read::

    # Kore backup manifest
    format: 1
    environment: production
    ...
    [files]
    database.dump <size> <sha256>
    [migrations]
    <app> <name>
    [tables]
    <table> <row count> <checksum>
    manifest-sha256: <sha256 of every line above>

The last line makes a truncated or edited manifest detectable like a damaged dump.
"""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

NAME = "MANIFEST.txt"
FORMAT = "1"
_SEAL = "manifest-sha256: "


class BackupError(Exception):
    """A backup operation that could not be carried out; the message is for the operator."""


class BackupInvalid(BackupError):
    """A backup that must not be restored: damaged, incomplete or from newer code."""


@dataclass
class Manifest:
    meta: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[int, str]] = field(default_factory=dict)
    migrations: list[tuple[str, str]] = field(default_factory=list)
    tables: dict[str, tuple[int, str]] = field(default_factory=dict)

    def render(self) -> str:
        lines = ["# Kore backup manifest", f"format: {FORMAT}"]
        lines += [f"{key}: {value}" for key, value in self.meta.items()]
        lines.append("[files]")
        lines += [f"{name} {size} {digest}" for name, (size, digest) in self.files.items()]
        lines.append("[migrations]")
        lines += [f"{app} {name}" for app, name in self.migrations]
        lines.append("[tables]")
        lines += [f"{table} {count} {checksum}" for table, (count, checksum) in self.tables.items()]
        body = "\n".join(lines) + "\n"
        return body + _SEAL + hashlib.sha256(body.encode()).hexdigest() + "\n"


def manifest_parse(text: str) -> Manifest:
    """Read a manifest, refusing one whose seal does not match its contents."""
    body, sep, seal = text.rpartition(_SEAL)
    if not sep or hashlib.sha256(body.encode()).hexdigest() != seal.strip():
        raise BackupInvalid("MANIFEST.txt is damaged or incomplete (its seal does not match).")
    manifest = Manifest()
    section = ""
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        parts = line.split(" ")
        if section == "files":
            manifest.files[parts[0]] = (int(parts[1]), parts[2])
        elif section == "migrations":
            manifest.migrations.append((parts[0], parts[1]))
        elif section == "tables":
            manifest.tables[parts[0]] = (int(parts[1]), parts[2])
        else:
            key, _, value = line.partition(": ")
            manifest.meta[key] = value
    if manifest.meta.pop("format", "") != FORMAT:
        raise BackupInvalid("MANIFEST.txt has a format this Kore does not read.")
    return manifest


def manifest_read(directory: Path) -> Manifest:
    """The sealed manifest of a backup directory."""
    try:
        text = (directory / NAME).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupInvalid(
            f"{directory} has no readable {NAME}: it is not a whole backup."
        ) from exc
    return manifest_parse(text)


def file_sha256(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def files_check(directory: Path, manifest: Manifest) -> None:
    """Every file the manifest lists is there with its size and SHA-256, else BackupInvalid."""
    if "database.dump" not in manifest.files:
        raise BackupInvalid("The manifest lists no database.dump.")
    for name, (size, digest) in manifest.files.items():
        path = directory / name
        if not path.is_file():
            raise BackupInvalid(f"{name} is missing from {directory}.")
        actual_size, actual_digest = file_sha256(path)
        if actual_size != size:
            raise BackupInvalid(f"{name} is {actual_size} bytes, the manifest says {size}.")
        if actual_digest != digest:
            raise BackupInvalid(f"{name} does not match its SHA-256 in the manifest.")
