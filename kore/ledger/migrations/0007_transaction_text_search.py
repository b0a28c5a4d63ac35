"""Trigram indexes for the transaction list's text search (``?q=``), PostgreSQL only.

The list filters with ``description ILIKE %q% OR counterparty ILIKE %q%`` (Django's
``icontains``: ``UPPER(col::text) LIKE UPPER(%s)``); GIN trigram indexes on exactly those
expressions turn that into a bitmap index search instead of a scan of the organisation's rows.
pg_trgm is a trusted extension (PostgreSQL 13+), so the database owner may create it; where it
cannot be created the search still works, unindexed, and the migration says so. SQLite (the
embedded runtime) keeps the plain LIKE.
"""

import logging

from django.db import migrations

logger = logging.getLogger(__name__)
COLUMNS = ("description", "counterparty")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # noqa: BLE001 - lacking the privilege must not stop a deploy
            logger.warning("pg_trgm is not available: transaction text search stays unindexed")
            return
        for column in COLUMNS:
            cursor.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS ledger_tx_{column}_trgm "
                f'ON ledger_transaction USING gin ((UPPER("{column}"::text)) gin_trgm_ops) '
                "WHERE deleted_at IS NULL"
            )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for column in COLUMNS:
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS ledger_tx_{column}_trgm")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("ledger", "0006_transaction_fingerprint_index")]

    operations = [migrations.RunPython(create, drop)]
