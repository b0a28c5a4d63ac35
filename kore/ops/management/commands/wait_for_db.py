"""Block until the database answers a real query (``SELECT 1``), with exponential backoff.

The container entrypoint runs it before Gunicorn, Celery and migrations: a TCP port that accepts
connections is not a database that answers (PostgreSQL still recovering, wrong password, missing
database), so only a query counts.
"""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import Error as DatabaseError


class Command(BaseCommand):
    help = "Wait until the database answers SELECT 1 (exponential backoff, bounded)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=60.0, help="give up after (s)")
        parser.add_argument("--delay", type=float, default=0.5, help="first wait (s)")
        parser.add_argument("--max-delay", type=float, default=5.0, help="longest wait (s)")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        alias: str = options["database"]
        deadline = time.monotonic() + options["timeout"]
        delay: float = options["delay"]
        attempt = 0
        while True:
            attempt += 1
            connection = connections[alias]
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
                    cursor.fetchone()
            except DatabaseError as exc:
                connection.close()  # a broken connection must not be reused for the next try
                remaining = deadline - time.monotonic()
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc)
                if remaining <= 0:
                    raise CommandError(
                        f"database {alias!r} did not answer after {attempt} attempts: {reason}"
                    ) from exc
                self.stderr.write(f"wait_for_db: attempt {attempt} failed ({reason}); retrying")
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, options["max_delay"])
                continue
            self.stdout.write(f"wait_for_db: database {alias!r} answered (attempt {attempt})")
            return
