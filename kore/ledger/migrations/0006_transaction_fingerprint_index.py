"""The import duplicate check's index, built concurrently: no write lock on the big table."""

from django.db import migrations, models

from kore.core.db_operations import AddIndexConcurrentlyIfPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("ledger", "0005_transaction_import_provenance")]

    operations = [
        AddIndexConcurrentlyIfPostgres(
            model_name="transaction",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True), ("fingerprint__isnull", False)),
                fields=["account", "fingerprint"],
                name="ledger_tx_fingerprint",
            ),
        ),
    ]
