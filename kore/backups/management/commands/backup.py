"""``manage.py backup``: write a verified-able backup, verify one, or fetch an off-site copy."""

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kore.backups import offsite
from kore.backups.manifest import BackupError
from kore.backups.services import (
    backup_create,
    backup_lock,
    backup_retention_apply,
    backup_verify,
)


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump in one snapshot with its row counts and checksums), media "
        "and configuration into KORE_BACKUP_DIR/<environment>_<UTC time>/, then apply retention "
        "and copy it off-site when KORE_BACKUP_S3_BUCKET is set. --verify PATH restores a backup "
        "into a scratch database and compares it with its manifest."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--environment", help="Name in the directory (default: KORE_BACKUP_ENVIRONMENT)."
        )
        parser.add_argument(
            "--include-env-file", type=Path, metavar="FILE",
            help="Also put this env file (it holds secrets) into config.tar.gz.",
        )  # fmt: skip
        parser.add_argument(
            "--verify", type=Path, metavar="PATH", help="Verify this backup instead."
        )
        parser.add_argument(
            "--fetch", metavar="NAME",
            help="Download and decrypt off-site copy NAME into KORE_BACKUP_DIR, then verify it.",
        )  # fmt: skip
        parser.add_argument("--list-remote", action="store_true", help="List the off-site copies.")
        parser.add_argument("--no-retention", action="store_true", help="Delete nothing.")
        parser.add_argument("--no-upload", action="store_true", help="No off-site copy this time.")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        try:
            if options["list_remote"]:
                for name in offsite.remote_list():
                    self.stdout.write(name)
                return
            if options["fetch"]:
                path = offsite.backup_fetch(name=options["fetch"])
                self.stdout.write(f"Fetched {path}.")
                options["verify"] = path
            if options["verify"]:
                backup_verify(path=options["verify"])
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Verified {options['verify']}: every table matches the manifest "
                        f"({time.perf_counter() - started:.1f} s)."
                    )
                )
                return
            # The nightly task's lock, for the backup, its upload and retention: a manual backup
            # never runs beside a scheduled one (nor beside another manual one).
            with backup_lock():
                self._create(options, started)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc

    def _create(self, options: dict[str, Any], started: float) -> None:
        backup = backup_create(
            environment=options["environment"], env_file=options["include_env_file"]
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup {backup.path} complete: {backup.size_bytes or 0:,} bytes in "
                f"{time.perf_counter() - started:.1f} s."
            )
        )
        if settings.KORE_BACKUP_S3_BUCKET and not options["no_upload"]:
            key = offsite.backup_upload(backup_id=backup.pk)
            self.stdout.write(
                f"Encrypted copy uploaded to s3://{settings.KORE_BACKUP_S3_BUCKET}/{key}"
            )
        if not options["no_retention"]:
            for name in backup_retention_apply(environment=backup.environment):
                self.stdout.write(f"Expired {name}.")
            if settings.KORE_BACKUP_S3_BUCKET:
                for name in offsite.remote_retention_apply(environment=backup.environment):
                    self.stdout.write(f"Expired off-site {name}.")
