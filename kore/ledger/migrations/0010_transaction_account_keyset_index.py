"""The account index gains the keyset's tie-breaker: (account, occurred_on DESC, id DESC), live rows.

With (account, occurred_on) a list or export filtered by account sorted every row of the account
up to the cursor's date for each page (0.55 s per 2,000-row chunk of a 1M-row account, when the
statistics did not yet know the account was large). Built and dropped concurrently: no lock that
stops the ledger's reads or writes.
"""

from django.db import migrations, models

from kore.core.db_operations import (
    AddIndexConcurrentlyIfPostgres,
    RemoveIndexConcurrentlyIfPostgres,
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("ledger", "0009_child_flags_db_default")]

    operations = [
        AddIndexConcurrentlyIfPostgres(
            model_name="transaction",
            index=models.Index(
                models.F("account"),
                models.F("occurred_on").desc(),
                models.F("id").desc(),
                condition=models.Q(("deleted_at__isnull", True)),
                name="ledger_tx_account_date_id",
            ),
        ),
        RemoveIndexConcurrentlyIfPostgres(model_name="transaction", name="ledger_tx_account_date"),
    ]
