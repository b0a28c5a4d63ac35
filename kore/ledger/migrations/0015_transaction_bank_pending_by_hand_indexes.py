"""Two small partial indexes imports probe, built concurrently: no write lock on the big table.

``ledger_tx_bank_pending``: bank-pending rows of an account, which a later booked row replaces.
``ledger_tx_by_hand``: live rows entered by hand (no import fingerprint) by account, amount and
date, which an imported row may match instead of being booked twice. Imported rows enter neither.
"""

from django.db import migrations, models

from kore.core.db_operations import AddIndexConcurrentlyIfPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("ledger", "0014_bank_state_original_amount_account_iban")]

    operations = [
        AddIndexConcurrentlyIfPostgres(
            model_name="transaction",
            index=models.Index(
                condition=models.Q(("bank_state", "pending"), ("deleted_at__isnull", True)),
                fields=["account", "bank_id"],
                name="ledger_tx_bank_pending",
            ),
        ),
        AddIndexConcurrentlyIfPostgres(
            model_name="transaction",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True), ("fingerprint__isnull", True)),
                fields=["account", "amount", "occurred_on"],
                name="ledger_tx_by_hand",
            ),
        ),
    ]
