"""The list's text search has trigram indexes on exactly the expressions Django queries."""

from django.db import connection

from kore.ledger.models import Transaction


def _index_definitions():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ledger_transaction'"
        )
        return dict(cursor.fetchall())


def test_trigram_indexes_exist(db):
    indexes = _index_definitions()
    for column in ("description", "counterparty"):
        definition = indexes[f"ledger_tx_{column}_trgm"]
        assert "gin_trgm_ops" in definition
        assert f"upper(({column})::text)" in definition
        assert "deleted_at IS NULL" in definition


def test_icontains_compiles_to_the_indexed_expression(db):
    sql = str(Transaction.objects.filter(description__icontains="x").query)
    assert 'UPPER("ledger_transaction"."description"::text) LIKE UPPER(' in sql
