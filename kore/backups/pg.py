"""PostgreSQL for backups: the exported snapshot, table checksums, pg_dump/pg_restore, scratch DBs.

Row counts and checksums are computed in the same REPEATABLE READ snapshot that pg_dump reads
(``pg_export_snapshot()`` + ``pg_dump --snapshot``), so they describe exactly what the dump holds
even while the application keeps writing.
"""

import os
import shlex
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from psycopg import sql

from kore.backups.manifest import BackupError
from kore.backups.private import private_open

# The tables whose row count and checksum the manifest records (and verify compares).
CHECKED_MODELS = (
    "orgs.User",
    "orgs.Organization",
    "orgs.Membership",
    "orgs.Invitation",
    "orgs.ApiToken",
    "ledger.LedgerState",
    "ledger.Account",
    "ledger.Category",
    "ledger.Tag",
    "ledger.Statement",
    "ledger.Transfer",
    "ledger.Transaction",
    "ledger.Split",
    "ledger.Attachment",
    "imports.ImportJob",
    "exports.ExportJob",
)
# Row text depends on these; both sides of a comparison use the same values.
_SESSION = (
    "SET TimeZone = 'UTC'",
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'postgres'",
    "SET extra_float_digits = 1",
    "SET bytea_output = 'hex'",
)


def checked_tables() -> list[str]:
    """The tables the manifest checksums: the main models and their many-to-many tables."""
    tables = []
    for label in CHECKED_MODELS:
        model = apps.get_model(label)
        tables.append(model._meta.db_table)
        tables += [
            f.remote_field.through._meta.db_table
            for f in model._meta.local_many_to_many
            if f.remote_field.through._meta.auto_created
        ]
    return tables


def _params(dbname: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = connections[DEFAULT_DB_ALIAS].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    if dbname is not None:
        params["dbname"] = dbname
    return params


def connect(dbname: str | None = None, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """A connection of its own (outside Django's) to the configured server."""
    return psycopg.connect(**_params(dbname), autocommit=autocommit)


def table_checksums(
    conn: psycopg.Connection[Any], tables: Sequence[str]
) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent checksum (sum of 64-bit row-text hashes) per table."""
    result: dict[str, tuple[int, str]] = {}
    with conn.cursor() as cursor:
        for statement in _SESSION:
            cursor.execute(statement)
        for table in tables:
            cursor.execute("SELECT to_regclass(%s)", [f'public."{table}"'])
            if cursor.fetchone() == (None,):
                continue  # not made yet in this database (an older schema)
            cursor.execute(
                sql.SQL(
                    "SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0)::text "
                    "FROM {} AS t"
                ).format(sql.Identifier(table))
            )
            count, checksum = cursor.fetchone()  # type: ignore[misc]
            result[table] = (int(count), str(checksum))
    return result


def migrations_applied(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    with conn.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
        return [(str(app), str(name)) for app, name in cursor.fetchall()]


def server_version(conn: psycopg.Connection[Any]) -> str:
    with conn.cursor() as cursor:
        cursor.execute("SHOW server_version")
        row = cursor.fetchone()
    return str(row[0]) if row else ""


@contextmanager
def exported_snapshot() -> Iterator[tuple[psycopg.Connection[Any], str]]:
    """A REPEATABLE READ transaction held open, and the id other sessions can import it by."""
    conn = connect()
    try:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        yield conn, str(row[0])
    finally:
        conn.rollback()
        conn.close()


def _client(program: str, prefix: str, dbname: str) -> tuple[list[str], dict[str, str]]:
    """Command words and environment for pg_dump/pg_restore against ``dbname``."""
    db = settings.DATABASES[DEFAULT_DB_ALIAS]
    env = os.environ.copy()
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    user = ["-U", str(db["USER"])] if db.get("USER") else []
    if prefix:
        # The prefix runs the client beside the server (e.g. in its container): its own socket.
        return [*shlex.split(prefix), *user, "-d", dbname], env
    host = ["-h", str(db["HOST"])] if db.get("HOST") else []
    port = ["-p", str(db["PORT"])] if db.get("PORT") else []
    return [program, *host, *port, *user, "-d", dbname], env


def dump_start(*, snapshot: str, out: Path) -> subprocess.Popen[bytes]:
    """Start ``pg_dump -Fc --snapshot`` writing to ``out`` via stdout (container-safe)."""
    name = str(settings.DATABASES[DEFAULT_DB_ALIAS]["NAME"])
    words, env = _client("pg_dump", settings.KORE_PG_DUMP, name)
    words += ["-Fc", f"--snapshot={snapshot}"]
    with private_open(out) as handle:
        try:
            return subprocess.Popen(  # noqa: S603 - words from settings
                words, stdout=handle, stderr=subprocess.PIPE, env=env
            )
        except OSError as exc:
            raise BackupError(f"pg_dump could not be started ({words[0]}): {exc}") from exc


def dump_wait(process: subprocess.Popen[bytes]) -> None:
    _, stderr = process.communicate()
    if process.returncode != 0:
        raise BackupError(f"pg_dump failed ({process.returncode}): {stderr.decode()[-2000:]}")


def restore(*, dump: Path, dbname: str, clean: bool) -> None:
    """pg_restore the dump (read from stdin) into ``dbname`` in one transaction."""
    words, env = _client("pg_restore", settings.KORE_PG_RESTORE, dbname)
    words += ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    if clean:
        words += ["--clean", "--if-exists"]
    with dump.open("rb") as handle:
        try:
            done = subprocess.run(  # noqa: S603 - words from settings
                words, stdin=handle, capture_output=True, env=env, check=False
            )
        except OSError as exc:
            raise BackupError(f"pg_restore could not be started ({words[0]}): {exc}") from exc
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed ({done.returncode}): {done.stderr.decode()[-2000:]}")


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new empty database on the same server, dropped afterwards whatever happens."""
    base = str(settings.DATABASES[DEFAULT_DB_ALIAS]["NAME"])[:30]
    name = f"{base}_verify_{uuid.uuid4().hex[:12]}"
    with connect(autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with connect(autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def dump_tables(dump: Path) -> set[str]:
    """Tables the dump creates (its table of contents, ``pg_restore -l``)."""
    prefix = shlex.split(settings.KORE_PG_RESTORE) or ["pg_restore"]
    with dump.open("rb") as handle:
        done = subprocess.run(  # noqa: S603 - words from settings
            [*prefix, "-l"], stdin=handle, capture_output=True, check=False
        )
    if done.returncode != 0:
        raise BackupError(f"pg_restore -l failed: {done.stderr.decode()[-2000:]}")
    tables = set()
    for line in done.stdout.decode().splitlines():
        # "215; 1259 16390 TABLE public ledger_transaction owner"
        words = line.split()
        if len(words) >= 6 and not line.startswith(";") and words[3:5] == ["TABLE", "public"]:
            tables.add(words[5])
    return tables


def tables_drop_leftovers(*, keep: set[str], known: set[str]) -> list[str]:
    """Drop Kore's tables that exist here but not in ``keep`` (made by newer migrations)."""
    with connect(autocommit=True) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        leftovers = sorted(({str(r[0]) for r in rows} & known) - keep)
        for table in leftovers:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(table)))
    return leftovers
