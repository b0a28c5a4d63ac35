"""Joins two migrations written side by side; changes nothing."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0014_transfer_version_history"),
        ("ledger", "0015_transaction_bank_pending_by_hand_indexes"),
    ]

    operations: list[migrations.operations.base.Operation] = []
