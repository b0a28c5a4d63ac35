"""Provenance of imported transactions (job, source line, duplicate fingerprint): nullable
columns, so adding them rewrites nothing."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0001_initial"),
        ("ledger", "0004_transaction_org_category_statistics"),
    ]

    operations = [
        migrations.AddField(
            model_name="transaction",
            name="fingerprint",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="transaction",
            name="import_job",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="imports.importjob",
            ),
        ),
        migrations.AddField(
            model_name="transaction",
            name="import_line",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
