"""Kore's transaction table, read as is (the bare app never creates or changes it)."""

from django.db import models


class Transaction(models.Model):
    organization_id = models.BigIntegerField()
    account_id = models.BigIntegerField()
    occurred_on = models.DateField()
    amount = models.DecimalField(max_digits=20, decimal_places=4)
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=500)
    counterparty = models.CharField(max_length=200)
    category_id = models.BigIntegerField(null=True)
    status = models.CharField(max_length=10)
    deleted_at = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = "ledger_transaction"
        app_label = "bare"

    def __str__(self) -> str:
        return f"{self.occurred_on} {self.amount} {self.currency}"
