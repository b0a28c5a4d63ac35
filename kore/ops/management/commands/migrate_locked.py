"""``migrate`` under a PostgreSQL advisory lock: replicas that start together never race.

The first process takes the lock and migrates; the others wait for it, then find nothing to do.
The lock is session-level, so it needs a direct connection to PostgreSQL (not PgBouncer in
transaction mode): point DATABASE_URL of the migrate job at the server itself.
"""

import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

MIGRATE_LOCK_ID = 0x4B6F7265_4D696772  # "KoreMigr"; the beat lock is "KoreBeat"


class Command(BaseCommand):
    help = "Run migrate while holding a PostgreSQL advisory lock (one migrator at a time)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--lock-timeout", type=float, default=600.0, help="give up waiting after (s)"
        )
        parser.add_argument("--poll", type=float, default=1.0, help="seconds between tries")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")

    def handle(self, *args: Any, **options: Any) -> None:
        alias: str = options["database"]
        connection = connections[alias]
        migrate_options = {
            "database": alias,
            "interactive": False,
            "verbosity": options["verbosity"],
        }
        if connection.vendor != "postgresql":
            call_command("migrate", **migrate_options)  # SQLite: one process, nothing to race
            return
        self._acquire(connection, options["lock_timeout"], options["poll"])
        try:
            call_command("migrate", **migrate_options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK_ID])

    def _acquire(self, connection: BaseDatabaseWrapper, timeout: float, poll: float) -> None:
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATE_LOCK_ID])
                (held,) = cursor.fetchone()
            if held:
                if waited:
                    self.stderr.write("migrate_locked: lock acquired after waiting")
                return
            if time.monotonic() >= deadline:
                raise CommandError(
                    f"another migrate held the lock for more than {timeout:g} s; giving up"
                )
            if not waited:
                self.stderr.write("migrate_locked: another process is migrating; waiting")
                waited = True
            time.sleep(poll)
