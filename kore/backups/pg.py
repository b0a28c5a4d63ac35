"""PostgreSQL for backups: the exported snapshot, table checksums, pg_dump/pg_restore, scratch DBs.

Row counts and checksums are computed in the same REPEATABLE READ snapshot that pg_dump reads
(``pg_export_snapshot()`` + ``pg_dump --snapshot``), so they describe exactly what the dump holds
even while the application keeps writing.
"""

import os
import shlex
import subprocess
import time
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

from config.env import env
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


def _server() -> dict[str, Any]:
    """Where backups connect: ``KORE_BACKUP_DATABASE_URL`` (straight to PostgreSQL, when Django
    goes through PgBouncer) or Django's own database settings."""
    direct = settings.KORE_BACKUP_DATABASE_URL
    return dict(env.db_url_config(direct)) if direct else dict(settings.DATABASES[DEFAULT_DB_ALIAS])


def _params(dbname: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = connections[DEFAULT_DB_ALIAS].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    if settings.KORE_BACKUP_DATABASE_URL:
        server = _server()
        for key, name in (("host", "HOST"), ("port", "PORT"), ("user", "USER"),
                          ("password", "PASSWORD"), ("dbname", "NAME")):  # fmt: skip
            params.pop(key, None)
            if server.get(name):
                params[key] = server[name]
    if dbname is not None:
        params["dbname"] = dbname
    return params


def connect(dbname: str | None = None, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """A connection of its own (outside Django's) to the configured server."""
    return psycopg.connect(**_params(dbname), autocommit=autocommit)


@contextmanager
def session_lock(key: int) -> Iterator[bool]:
    """Try PostgreSQL's session advisory lock ``key`` on a connection of its own; True if this
    process holds it until the block ends. A process that dies drops its session and the lock."""
    conn = connect(autocommit=True)
    try:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
        yield bool(row and row[0])
    finally:
        conn.close()  # ends the session, which releases the lock


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
    db = _server()
    environ = os.environ.copy()
    if db.get("PASSWORD"):
        environ["PGPASSWORD"] = str(db["PASSWORD"])
    user = ["-U", str(db["USER"])] if db.get("USER") else []
    if prefix:
        # The prefix runs the client beside the server (e.g. in its container): its own socket.
        return [*shlex.split(prefix), *user, "-d", dbname], environ
    host = ["-h", str(db["HOST"])] if db.get("HOST") else []
    port = ["-p", str(db["PORT"])] if db.get("PORT") else []
    return [program, *host, *port, *user, "-d", dbname], environ


def dump_start(*, snapshot: str, out: Path) -> subprocess.Popen[bytes]:
    """Start ``pg_dump -Fc --snapshot`` writing to ``out`` via stdout (container-safe)."""
    name = str(_server()["NAME"])
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


def restore(*, dump: Path, dbname: str) -> None:
    """pg_restore the dump (read from stdin) into the empty database ``dbname``, in one
    transaction."""
    words, env = _client("pg_restore", settings.KORE_PG_RESTORE, dbname)
    words += ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
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
    base = str(_server()["NAME"])[:30]
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


# --- a restore: a new database, then one transaction renames it into place ---------------------
SWAP_ATTEMPTS = 50


def _maintenance() -> psycopg.Connection[Any]:
    """A connection to the server's maintenance database: a database cannot be renamed or dropped
    from a session connected to it."""
    try:
        return connect("postgres", autocommit=True)
    except psycopg.OperationalError:
        return connect("template1", autocommit=True)


def _free_name(base: str, purpose: str) -> str:
    return f"{base[:30]}_{purpose}_{uuid.uuid4().hex[:12]}"


def database_create_like(like: str) -> str:
    """A new empty database with the owner, encoding, locale, tablespace, connection limit,
    privileges and settings of ``like``; its name."""
    name = _free_name(like, "restore")
    with _maintenance() as admin:
        row = admin.execute(
            "SELECT d.oid, pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding), "
            "d.datcollate, d.datctype, t.spcname, d.datconnlimit, d.datacl IS NOT NULL, "
            "to_jsonb(d) FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace "
            "WHERE d.datname = %s",
            [like],
        ).fetchone()
        if row is None:
            raise BackupError(f"The database {like} does not exist.")
        oid, owner, encoding, collate, ctype, space, limit, has_acl, raw = row
        options = [
            sql.SQL("TEMPLATE template0 OWNER {} ENCODING {} LC_COLLATE {} LC_CTYPE {}").format(
                sql.Identifier(owner),
                sql.Literal(encoding),
                sql.Literal(collate),
                sql.Literal(ctype),
            ),
            sql.SQL("TABLESPACE {} CONNECTION LIMIT {}").format(
                sql.Identifier(space), sql.Literal(limit)
            ),
        ]
        provider = raw.get("datlocprovider")
        locale = raw.get("datlocale") or raw.get("daticulocale")
        if provider == "i" and locale:
            options.append(sql.SQL("LOCALE_PROVIDER icu ICU_LOCALE {}").format(sql.Literal(locale)))
        elif provider == "b" and locale:
            options.append(
                sql.SQL("LOCALE_PROVIDER builtin BUILTIN_LOCALE {}").format(sql.Literal(locale))
            )
        admin.execute(
            sql.SQL("CREATE DATABASE {} ").format(sql.Identifier(name)) + sql.SQL(" ").join(options)
        )
        try:
            _database_copy_grants(admin, oid=oid, to=name, has_acl=bool(has_acl))
        except BaseException:
            database_drop(name)
            raise
    return name


def _database_copy_grants(
    admin: psycopg.Connection[Any], *, oid: int, to: str, has_acl: bool
) -> None:
    """The database-level privileges and ``ALTER DATABASE/ROLE … SET`` settings of ``oid``."""
    target = sql.Identifier(to)
    if has_acl:  # NULL means the defaults, which the new database has too
        admin.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(target))
        grants = admin.execute(
            "SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN NULL "
            "ELSE pg_get_userbyid(a.grantee) END, a.is_grantable "
            "FROM pg_database d, aclexplode(d.datacl) a WHERE d.oid = %s",
            [oid],
        ).fetchall()
        for privilege, grantee, grantable in grants:
            admin.execute(
                sql.SQL("GRANT {} ON DATABASE {} TO {}{}").format(
                    sql.SQL(privilege),
                    target,
                    sql.Identifier(grantee) if grantee else sql.SQL("PUBLIC"),
                    sql.SQL(" WITH GRANT OPTION" if grantable else ""),
                )
            )
    settings_rows = admin.execute(
        "SELECT CASE WHEN setrole = 0 THEN NULL ELSE pg_get_userbyid(setrole) END, "
        "unnest(setconfig) FROM pg_db_role_setting WHERE setdatabase = %s",
        [oid],
    ).fetchall()
    for role, setting in settings_rows:
        key, _, value = str(setting).partition("=")
        who = (
            sql.SQL("ROLE {} IN DATABASE {}").format(sql.Identifier(role), target)
            if role
            else sql.SQL("DATABASE {}").format(target)
        )
        admin.execute(
            sql.SQL("ALTER {} SET {} = {}").format(who, sql.Identifier(key), sql.Literal(value))
        )


def database_swap(*, target: str, replacement: str) -> str:
    """Rename ``target`` away and ``replacement`` to its name in one transaction; the name the old
    database now has.

    Renaming needs every other session of both databases gone: they are terminated (the web,
    worker and beat processes should be stopped anyway) and the swap is tried again while new
    ones keep arriving. Either both renames happen or neither does.
    """
    previous = _free_name(target, "pre_restore")
    with _maintenance() as admin:
        for _ in range(SWAP_ATTEMPTS):
            try:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = ANY(%s) AND pid <> pg_backend_pid()",
                    [[target, replacement]],
                )
            except psycopg.errors.InsufficientPrivilege as exc:
                raise BackupError(
                    f"Other sessions use {target} and this user may not end them ({exc}): stop "
                    "the web, worker and beat processes and restore again."
                ) from exc
            try:
                with admin.transaction():
                    admin.execute(
                        sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                            sql.Identifier(target), sql.Identifier(previous)
                        )
                    )
                    admin.execute(
                        sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                            sql.Identifier(replacement), sql.Identifier(target)
                        )
                    )
            except psycopg.errors.ObjectInUse:
                time.sleep(0.1)  # a session arrived between the terminate and the rename
                continue
            return previous
    raise BackupError(
        f"Other sessions kept connecting to {target}: stop the web, worker and beat processes "
        "and restore again."
    )


def database_drop(name: str) -> None:
    with _maintenance() as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
