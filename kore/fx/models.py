"""Exchange rates an organisation keeps: one rate per currency pair and day.

``rate`` is the price of one ``base`` in ``quote`` (base EUR, quote USD, rate 1.0850: one euro
costs 1.0850 dollars). A second rate for the same pair and day replaces the first; the audit
trail (history table) keeps the one it replaced.
"""

from typing import ClassVar

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from kore.core.audit import AuditFields
from kore.orgs.models import Organization

# 1e-6 … 1e6 are the accepted rates: six integer digits and twelve decimals hold both ends.
RATE_MAX_DIGITS = 20
RATE_DECIMAL_PLACES = 12


class ExchangeRate(models.Model):
    class Source(models.TextChoices):
        MANUAL = "manual"
        ECB_CSV = "ecb_csv"
        CSV = "csv"
        PROVIDER = "provider"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    base = models.CharField(max_length=3)
    quote = models.CharField(max_length=3)
    date = models.DateField()
    rate = models.DecimalField(max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(bases=[AuditFields])

    class Meta:
        constraints: ClassVar = [
            # Also the lookup index: a pair's rates by day within an organisation.
            models.UniqueConstraint(
                fields=["organization", "base", "quote", "date"], name="fx_rate_pair_day_unique"
            ),
            models.CheckConstraint(
                condition=Q(rate__gte="0.000001", rate__lte=1_000_000), name="fx_rate_in_range"
            ),
            models.CheckConstraint(condition=~Q(base=models.F("quote")), name="fx_rate_two_sides"),
        ]

    def __str__(self) -> str:
        return f"{self.date} 1 {self.base} = {self.rate} {self.quote}"
