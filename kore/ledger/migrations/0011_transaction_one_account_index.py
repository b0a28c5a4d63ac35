"""One index on the transaction's account instead of two.

The foreign key's own index (account_id) and the keyset index (account, occurred_on DESC, id DESC;
live rows) both led with the account. The keyset index now covers every row, so it serves the
foreign key too, and the single-column one goes: one index fewer to keep up on every insert (an
import of a million rows, the demo seeding). Built and dropped concurrently on PostgreSQL.
"""

from typing import Any

from django.db import migrations, models

from kore.core.db_operations import (
    AddIndexConcurrentlyIfPostgres,
    RemoveIndexConcurrentlyIfPostgres,
)

FK_INDEX = "ledger_transaction_account_id_0ac80fbe"  # Django's name for the FK's index


def _fk_index_drop(apps: Any, schema_editor: Any) -> None:
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f'DROP INDEX {concurrently}IF EXISTS "{FK_INDEX}"')


def _fk_index_create(apps: Any, schema_editor: Any) -> None:
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f'CREATE INDEX {concurrently}IF NOT EXISTS "{FK_INDEX}" ON "ledger_transaction" '
        '("account_id")'
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("ledger", "0010_transaction_account_keyset_index")]

    operations = [
        AddIndexConcurrentlyIfPostgres(
            model_name="transaction",
            index=models.Index(
                models.F("account"),
                models.F("occurred_on").desc(),
                models.F("id").desc(),
                name="ledger_tx_account_keyset",
            ),
        ),
        RemoveIndexConcurrentlyIfPostgres(
            model_name="transaction", name="ledger_tx_account_date_id"
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="transaction",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.PROTECT,
                        related_name="transactions",
                        to="ledger.account",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(_fk_index_drop, _fk_index_create)],
        ),
    ]
