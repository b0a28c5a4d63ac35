"""The list's text search has trigram indexes on exactly the expressions it queries."""

from decimal import Decimal

from django.db import connection

from kore.ledger.models import Account, Transaction


def _index_definitions():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ledger_transaction'"
        )
        return dict(cursor.fetchall())


def test_trigram_indexes_exist_on_the_plain_columns(db):
    indexes = _index_definitions()
    for column in ("description", "counterparty"):
        definition = indexes[f"ledger_tx_{column}_trigram"]
        assert f"gin ({column} gin_trgm_ops)" in definition
        assert "deleted_at IS NULL" in definition
    assert not any("upper(" in d for d in indexes.values())  # the old UPPER() ones are gone


def test_ilike_contains_compiles_to_the_indexed_expression(db):
    sql = str(Transaction.objects.filter(description__ilike_contains="x").query)
    assert '"ledger_transaction"."description" ILIKE %x%' in sql


def test_ilike_contains_is_case_insensitive_and_literal(world):
    account = Account.objects.create(organization=world.org, name="Bank", currency="EUR")
    for text in ("Café Ünter 50% off", "cafe under 50 off", "PAYROLL_2026"):
        Transaction.objects.create(
            organization=world.org, account=account, occurred_on="2026-01-01",
            amount=Decimal("1.00"), currency="EUR", description=text,
        )  # fmt: skip
    rows = Transaction.objects.filter(organization=world.org)

    def search(q: str) -> set[str]:
        hits = rows.filter(description__ilike_contains=q)
        return set(hits.values_list("description", flat=True))

    assert search("CAFÉ") == {"Café Ünter 50% off"}
    assert search("ünter") == {"Café Ünter 50% off"}
    assert search("50%") == {"Café Ünter 50% off"}  # % is a character, not a wildcard
    assert search("l_2") == {"PAYROLL_2026"}  # and so is _
    assert search("50 ") == {"cafe under 50 off"}
