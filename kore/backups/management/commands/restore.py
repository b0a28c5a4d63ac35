"""``manage.py restore PATH``: check a backup, then replace the database and media with it."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from kore.backups.manifest import BackupError
from kore.backups.services import backup_check, backup_restore
from kore.ops.health import run_checks


class Command(BaseCommand):
    help = (
        "Restore a backup directory: its checksums and migrations are checked first (a damaged, "
        "truncated or newer backup is refused and nothing is touched), then the dump is restored "
        "into a new database that replaces the current one only once it is whole, media unpacked "
        "and migrations run forward."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The backup directory (or its database.dump).")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if path.name == "database.dump":
            path = path.parent
        try:
            manifest = backup_check(path=path.resolve())
        except BackupError as exc:
            raise CommandError(f"Refusing to restore: {exc}") from exc
        database = settings.DATABASES[DEFAULT_DB_ALIAS]["NAME"]
        self.stdout.write(
            f"Backup of {manifest.meta.get('environment')} taken {manifest.meta.get('created_at')} "
            f"on {manifest.meta.get('hostname')} (Kore {manifest.meta.get('kore_version')}): "
            "checksums match."
        )
        if not options["yes"]:
            answer = input(f"This REPLACES database {database!r} and the media files. Type 'yes': ")
            if answer.strip().lower() != "yes":
                raise CommandError("Not confirmed; nothing was changed.")
        try:
            result = backup_restore(path=path)
        except BackupError as exc:
            raise CommandError(f"Restore failed: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(f"Restored {path} ({result.media_files} media files).")
        )
        overall, checks = run_checks()
        for name, check in checks.items():
            self.stdout.write(f"  {name}: {check.status}")
        self.stdout.write(f"Health: {overall}")
