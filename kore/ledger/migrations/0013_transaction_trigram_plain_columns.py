"""Trigram indexes on the plain text columns, not on ``UPPER(column)`` (PostgreSQL only).

The list's text search becomes ``column ILIKE %q%`` (the ``ilike_contains`` lookup,
kore.ledger.lookups) instead of Django's ``UPPER(column::text) LIKE UPPER(%q%)``. pg_trgm folds
case itself, so the result is the same, and every row indexed costs one case conversion less
(building the description index over a million rows: ~10 % less). The new indexes are built
before the old ones are dropped, both concurrently, so search stays indexed throughout; an
invalid index left by an interrupted run is built again, and never replaces a valid one. Where
pg_trgm is not installed (0007 logged why) nothing is done.
"""

from typing import Any

from django.db import migrations

COLUMNS = ("description", "counterparty")


def _has_trgm(cursor: Any) -> bool:
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    return cursor.fetchone() is not None


def _valid(cursor: Any, name: str) -> bool | None:
    """Whether the index is valid; None when there is none."""
    cursor.execute(
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname = %s",
        [name],
    )
    row = cursor.fetchone()
    return None if row is None else bool(row[0])


def _swap(*, create_upper: bool) -> Any:
    def operation(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            if not _has_trgm(cursor):
                return
            for column in COLUMNS:
                plain, upper = f"ledger_tx_{column}_trigram", f"ledger_tx_{column}_trgm"
                new, old = (upper, plain) if create_upper else (plain, upper)
                expression = f'(UPPER("{column}"::text))' if create_upper else f'"{column}"'
                if _valid(cursor, new) is False:  # an interrupted earlier run left it invalid
                    cursor.execute(f"DROP INDEX CONCURRENTLY {new}")
                cursor.execute(
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {new} ON ledger_transaction "
                    f"USING gin ({expression} gin_trgm_ops) WHERE deleted_at IS NULL"
                )
                if _valid(cursor, new):  # the old index goes only once the new one serves
                    cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {old}")

    return operation


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("ledger", "0012_transaction_fewer_indexes")]

    operations = [migrations.RunPython(_swap(create_upper=False), _swap(create_upper=True))]
