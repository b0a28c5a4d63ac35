"""Backups: create, check, verify, restore and expire them. Commands and tasks call these."""

import os
import re
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from kore.backups import archives, pg
from kore.backups.manifest import (
    NAME as MANIFEST_NAME,
)
from kore.backups.manifest import (
    BackupError,
    BackupInvalid,
    Manifest,
    file_sha256,
    files_check,
    manifest_read,
)
from kore.backups.models import Backup
from kore.backups.private import private_dir, private_open

PARTIAL = ".partial-"
# PostgreSQL advisory lock key held by every backup writer for its whole run: beat's nightly task
# and `manage.py backup` (so `make db-backup`). Advisory locks are per database, so production
# and staging on one server do not block each other.
BACKUP_LOCK = 0x6B6F72655F626B  # "kore_bk"
_lock_held: ContextVar[bool] = ContextVar("kore_backup_lock_held", default=False)
_ENVIRONMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_STAMP = "%Y%m%dT%H%M%SZ"


def backup_root() -> Path:
    return Path(settings.KORE_BACKUP_DIR).resolve()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _free_path(root: Path, environment: str, started: datetime) -> Path:
    base = f"{environment}_{started.astimezone(UTC).strftime(_STAMP)}"
    for n in range(1000):
        candidate = root / (base if n == 0 else f"{base}-{n}")
        taken = candidate.exists() or (root / f"{PARTIAL}{candidate.name}").exists()
        if not taken and not Backup.objects.filter(path=str(candidate)).exists():
            return candidate
    raise BackupError(f"No free backup name under {root} for {base}.")


def _require_postgresql() -> None:
    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        raise BackupError(
            "Backups need PostgreSQL (DATABASE_URL=postgres://…); the embedded SQLite runtime "
            "is backed up by copying its database file while Kore is stopped."
        )


class BackupRunning(BackupError):
    """Another process is writing a backup of this database."""


@contextmanager
def backup_lock() -> Iterator[None]:
    """Hold the backup lock until the block ends; BackupRunning if another process holds it.

    Re-entered in the same thread it is already held (a caller holding it across a backup, its
    upload and retention calls ``backup_create``, which takes it too). The lock lives on a session
    of its own: a writer that dies drops it with its connection."""
    if _lock_held.get():
        yield
        return
    _require_postgresql()
    with pg.session_lock(BACKUP_LOCK) as held:
        if not held:
            raise BackupRunning(
                "Another backup of this database is running (the nightly task or a manual "
                "backup); try again when it has finished."
            )
        token = _lock_held.set(True)
        try:
            yield
        finally:
            _lock_held.reset(token)


def backup_create(
    *, environment: str | None = None, env_file: Path | None = None, task_id: str = ""
) -> Backup:
    """Write a whole backup directory (dump, media, config, manifest) and record it.

    Holds the backup lock (BackupRunning when another writer has it). ``task_id`` records the
    broker message that asked for it (see ``backup_for_task``)."""
    with backup_lock():
        return _backup_create(environment=environment, env_file=env_file, task_id=task_id)


def backup_for_task(*, task_id: str) -> Backup | None:
    """The good backup an earlier delivery of broker message ``task_id`` already wrote, if any.

    Call it holding the backup lock: then no other delivery can be writing one."""
    if not task_id:
        return None
    return Backup.objects.filter(task_id=task_id, status__in=Backup.GOOD).first()


def _backup_create(*, environment: str | None, env_file: Path | None, task_id: str) -> Backup:
    _require_postgresql()
    environment = environment or settings.KORE_BACKUP_ENVIRONMENT
    if not _ENVIRONMENT.match(environment):
        raise BackupError(f"Environment name {environment!r}: use a-z, 0-9 and '-'.")
    if env_file is not None and not env_file.is_file():
        raise BackupError(f"The env file {env_file} does not exist.")
    root = backup_root()
    private_dir(root, exist_ok=True)
    started = timezone.now()
    final = _free_path(root, environment, started)
    partial = root / f"{PARTIAL}{final.name}"
    backup = Backup.objects.create(
        environment=environment, path=str(final), started_at=started, task_id=task_id
    )
    try:
        private_dir(partial)
        _write_backup(partial, environment=environment, started=started, env_file=env_file)
        # Only a whole directory ever carries the final name.
        partial.rename(final)
        _fsync(root)
    except BaseException as exc:
        shutil.rmtree(partial, ignore_errors=True)
        Backup.objects.filter(pk=backup.pk).update(
            status=Backup.Status.FAILED, finished_at=timezone.now(), error=str(exc)[:4000]
        )
        raise
    backup.status = Backup.Status.COMPLETE
    backup.finished_at = timezone.now()
    backup.size_bytes = sum(f.stat().st_size for f in final.iterdir())
    backup.save(update_fields=["status", "finished_at", "size_bytes"])
    return backup


def _write_backup(
    directory: Path, *, environment: str, started: datetime, env_file: Path | None
) -> Manifest:
    manifest = Manifest()
    with pg.exported_snapshot() as (conn, snapshot):
        dump = pg.dump_start(snapshot=snapshot, out=directory / "database.dump")
        try:
            # Same snapshot as the dump: these numbers describe exactly what it holds.
            manifest.tables = pg.table_checksums(conn, pg.checked_tables())
            manifest.migrations = pg.migrations_applied(conn)
            server = pg.server_version(conn)
        except BaseException:
            dump.kill()
            dump.wait()
            raise
        pg.dump_wait(dump)
    archives.media_archive(directory / "media.tar.gz")
    archives.config_archive(directory / "config.tar.gz", env_file=env_file)
    for name in ("database.dump", "media.tar.gz", "config.tar.gz"):
        _fsync(directory / name)
        manifest.files[name] = file_sha256(directory / name)
    manifest.meta = {
        "environment": environment,
        "created_at": started.astimezone(UTC).isoformat(),
        "kore_version": settings.KORE_VERSION,
        "hostname": socket.gethostname(),
        "database": str(settings.DATABASES[DEFAULT_DB_ALIAS]["NAME"]),
        "postgresql": server,
        "snapshot": snapshot,
        "env_file_included": "yes" if env_file else "no",
        "media": "in media.tar.gz"
        if settings.MEDIA_STORAGE == "filesystem"
        else "in the S3 bucket, not in this backup",
    }
    with private_open(directory / MANIFEST_NAME) as handle:
        handle.write(manifest.render().encode())
    _fsync(directory / MANIFEST_NAME)
    return manifest


def migrations_ahead(manifest: Manifest) -> list[str]:
    """Migrations the backup's database had that this code does not know."""
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    return [f"{app}.{name}" for app, name in manifest.migrations if (app, name) not in known]


def backup_check(*, path: Path) -> Manifest:
    """The manifest, or BackupInvalid for a damaged, truncated or newer-than-the-code backup."""
    if path.name.startswith(PARTIAL):
        raise BackupInvalid(f"{path} is an unfinished backup (its writer stopped before the end).")
    manifest = manifest_read(path)
    files_check(path, manifest)
    ahead = migrations_ahead(manifest)
    if ahead:
        raise BackupInvalid(
            "The backup comes from newer code; these migrations are unknown here: "
            + ", ".join(ahead)
            + ". Restore it with the Kore version that made it."
        )
    return manifest


def _row_for(path: Path, manifest: Manifest | None) -> Backup | None:
    backup = Backup.objects.filter(path=str(path)).first()
    if backup is None and manifest is not None:
        created = datetime.fromisoformat(
            manifest.meta.get("created_at", timezone.now().isoformat())
        )
        backup = Backup.objects.create(
            environment=manifest.meta.get("environment", "unknown")[:40],
            path=str(path),
            status=Backup.Status.COMPLETE,
            started_at=created,
            finished_at=created,
            size_bytes=sum(size for size, _ in manifest.files.values()),
        )
    return backup


def backup_verify(*, path: Path) -> Backup | None:
    """Restore into a scratch database and compare every count and checksum with the manifest."""
    _require_postgresql()
    path = path.resolve()
    manifest: Manifest | None = None
    try:
        manifest = backup_check(path=path)
        with pg.scratch_database() as scratch:
            pg.restore(dump=path / "database.dump", dbname=scratch)
            with pg.connect(scratch) as conn:
                restored = pg.table_checksums(conn, list(manifest.tables))
        wrong = [
            f"{table}: manifest {expected[0]} rows/{expected[1]}, restored "
            f"{restored[table][0]} rows/{restored[table][1]}"
            for table, expected in manifest.tables.items()
            if restored[table] != expected
        ]
        if wrong:
            raise BackupInvalid("The restored copy differs from the manifest: " + "; ".join(wrong))
    except BackupError as exc:
        Backup.objects.filter(path=str(path)).update(status=Backup.Status.FAILED, error=str(exc))
        raise
    backup = _row_for(path, manifest)
    assert backup is not None
    backup.status = Backup.Status.VERIFIED
    backup.verified_at = timezone.now()
    backup.error = ""
    backup.save(update_fields=["status", "verified_at", "error"])
    return backup


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    media_files: int


def backup_restore(*, path: Path) -> RestoreResult:
    """Replace the database (and media) with the backup's, then migrate forward.

    The dump goes into a new database, renamed into place only once pg_restore has succeeded: a
    restore that fails or is killed leaves the current database exactly as it was.
    """
    _require_postgresql()
    path = path.resolve()
    manifest = backup_check(path=path)
    connections.close_all()  # our own sessions must not keep the database from being renamed
    name = str(settings.DATABASES[DEFAULT_DB_ALIAS]["NAME"])
    # A fresh database also holds no table made by migrations newer than the backup: the
    # restored django_migrations has `migrate` make them again.
    fresh = pg.database_create_like(name)
    try:
        pg.restore(dump=path / "database.dump", dbname=fresh)
        previous = pg.database_swap(target=name, replacement=fresh)
    except BaseException:
        pg.database_drop(fresh)
        raise
    pg.database_drop(previous)
    media = 0
    if "media.tar.gz" in manifest.files:
        media = archives.media_extract(path / "media.tar.gz")
    call_command("migrate", interactive=False, verbosity=0)
    backup_rows_sync()
    return RestoreResult(manifest=manifest, media_files=media)


def backup_rows_sync() -> None:
    """Rows for whole directories the database does not know (e.g. after a restore)."""
    root = backup_root()
    if not root.is_dir():
        return
    for directory in sorted(root.iterdir()):
        if directory.name.startswith(PARTIAL) or not (directory / MANIFEST_NAME).is_file():
            continue
        row = Backup.objects.filter(path=str(directory)).first()
        if row is not None and row.status != Backup.Status.RUNNING:
            continue
        try:
            manifest = manifest_read(directory)
        except BackupInvalid:
            continue
        if row is None:
            _row_for(directory, manifest)
        else:  # the dump was taken while this row still said "running"
            row.status = Backup.Status.COMPLETE
            row.finished_at = row.finished_at or row.started_at
            row.save(update_fields=["status", "finished_at"])


def backup_time(name: str) -> datetime | None:
    """When a backup named <environment>_<UTC stamp>[-n] was taken."""
    stamp = name.rpartition("_")[2][:16]
    try:
        return datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def retention_plan(
    backups: list[tuple[str, bool]], *, keep_last: int, keep_days: int, now: datetime
) -> list[str]:
    """Names to delete from (name, good) pairs: all but the newest ``keep_last`` good ones and
    those younger than ``keep_days``; the newest good backup always stays."""
    dated = sorted(
        ((backup_time(name), name, good) for name, good in backups if backup_time(name)),
        reverse=True,
    )
    cutoff = now - timedelta(days=keep_days)
    good_names = [name for _, name, good in dated if good]
    keep = set(good_names[: max(keep_last, 0)])
    keep |= {name for when, name, _ in dated if when is not None and when >= cutoff}
    if good_names:
        keep.add(good_names[0])  # never delete the only (or newest) good backup
    return [name for _, name, _ in dated if name not in keep]


def backup_retention_apply(*, environment: str | None = None) -> list[str]:
    """Delete expired backup directories of one environment (and their rows); their names."""
    environment = environment or settings.KORE_BACKUP_ENVIRONMENT
    root = backup_root()
    if not root.is_dir():
        return []
    dirs = [
        d
        for d in root.iterdir()
        if d.is_dir()
        and d.name.startswith(f"{environment}_")
        and (d / MANIFEST_NAME).is_file()
        and backup_time(d.name) is not None
    ]
    failed = set(
        Backup.objects.filter(
            path__in=[str(d) for d in dirs], status=Backup.Status.FAILED
        ).values_list("path", flat=True)
    )
    doomed = retention_plan(
        [(d.name, str(d) not in failed) for d in dirs],
        keep_last=settings.KORE_BACKUP_KEEP_LAST,
        keep_days=settings.KORE_BACKUP_KEEP_DAYS,
        now=timezone.now(),
    )
    for name in doomed:
        shutil.rmtree(root / name)
        Backup.objects.filter(path=str(root / name)).delete()
    _partials_remove(root)
    return doomed


def _partials_remove(root: Path) -> None:
    """Leftovers of writers that died: partial directories whose row is no longer running."""
    running = set(
        Backup.objects.filter(status=Backup.Status.RUNNING).values_list("path", flat=True)
    )
    stale_before = timezone.now() - timedelta(seconds=settings.KORE_BACKUP_TIME_LIMIT)
    for partial in root.glob(f"{PARTIAL}*"):
        final = str(root / partial.name.removeprefix(PARTIAL))
        modified = datetime.fromtimestamp(partial.stat().st_mtime, tz=UTC)
        if final not in running or modified < stale_before:
            shutil.rmtree(partial, ignore_errors=True)
            Backup.objects.filter(path=final, status=Backup.Status.RUNNING).update(
                status=Backup.Status.FAILED,
                finished_at=timezone.now(),
                error="The backup stopped before it was complete.",
            )
