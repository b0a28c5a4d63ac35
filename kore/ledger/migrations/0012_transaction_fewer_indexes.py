"""Two indexes fewer on the transaction table.

- The category: its foreign key's own index (category_id) and ``ledger_tx_org_cat_date``
  (organization, category, occurred_on; live rows) become one, ``ledger_tx_category_date``
  (category, occurred_on; every row). A category belongs to one organisation, so leading with it
  is as selective as leading with the organisation; covering every row, it also serves the foreign
  key (deleting a category, or asking whether one is in use, looks at soft-deleted rows too).
- The creator: ``created_by_id`` keeps its foreign key and loses its index. Nothing lists
  transactions by creator; the one query that needs it is deleting a user (``SET_NULL``), which
  is rare and may scan.

Every insert keeps one index less up to date (imports, the demo seeding, bulk creates). Built and
dropped concurrently on PostgreSQL.
"""

from typing import Any

from django.conf import settings
from django.db import migrations, models

from kore.core.db_operations import (
    AddIndexConcurrentlyIfPostgres,
    RemoveIndexConcurrentlyIfPostgres,
)

# Django's names for the foreign keys' own indexes.
FK_INDEXES = {
    "ledger_transaction_category_id_abc09e79": "category_id",
    "ledger_transaction_created_by_id_c2ba222d": "created_by_id",
}


def _concurrently(schema_editor: Any) -> str:
    return "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""


def _fk_indexes_drop(apps: Any, schema_editor: Any) -> None:
    for name in FK_INDEXES:
        schema_editor.execute(f'DROP INDEX {_concurrently(schema_editor)}IF EXISTS "{name}"')


def _fk_indexes_create(apps: Any, schema_editor: Any) -> None:
    for name, column in FK_INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX {_concurrently(schema_editor)}IF NOT EXISTS "{name}" '
            f'ON "ledger_transaction" ("{column}")'
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("ledger", "0011_transaction_one_account_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrentlyIfPostgres(
            model_name="transaction",
            index=models.Index(fields=["category", "occurred_on"], name="ledger_tx_category_date"),
        ),
        RemoveIndexConcurrentlyIfPostgres(model_name="transaction", name="ledger_tx_org_cat_date"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="transaction",
                    name="category",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.PROTECT,
                        related_name="transactions",
                        to="ledger.category",
                    ),
                ),
                migrations.AlterField(
                    model_name="transaction",
                    name="created_by",
                    field=models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(_fk_indexes_drop, _fk_indexes_create)],
        ),
    ]
