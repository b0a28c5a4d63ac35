"""What suggestions keep per organisation: the trained model, the auto-apply setting, and what
was applied."""

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from kore.core.audit import AuditFields
from kore.imports.models import ImportJob
from kore.ledger.models import Category, Transaction
from kore.orgs.models import Organization


class SuggestionModel(models.Model):
    """An organisation's trained classifier (kore.suggestions.engine), stored in the database so
    every process (Gunicorn workers, the embedded runtime without Redis) loads the same one.
    ``version`` moves with each training; processes keep the loaded model until it does."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    method = models.CharField(max_length=20)
    version = models.PositiveIntegerField(default=1)
    data = models.BinaryField()
    rows = models.PositiveIntegerField()  # categorised rows learned from
    categories = models.PositiveIntegerField()
    # The organisation's ledger change number the rows were read at: unchanged, no retraining.
    ledger_version = models.BigIntegerField()
    train_ms = models.PositiveIntegerField()
    trained_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.method} for {self.organization_id} v{self.version}"


class SuggestionSettings(models.Model):
    """``auto_apply_confidence``: imports set the top suggestion's category on rows that arrive
    uncategorised when its confidence reaches this; null (the default) applies nothing."""

    MIN_CONFIDENCE = Decimal("0.50")

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    auto_apply_confidence = models.DecimalField(
        max_digits=3, decimal_places=2, null=True, blank=True
    )
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(bases=[AuditFields])

    class Meta:
        verbose_name_plural = "suggestion settings"
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(auto_apply_confidence__isnull=True)
                | Q(auto_apply_confidence__gte=Decimal("0.50"), auto_apply_confidence__lte=1),
                name="suggestions_settings_confidence_range",
            ),
        ]

    def __str__(self) -> str:
        return f"suggestion settings of {self.organization_id}"


class AppliedSuggestion(models.Model):
    """A category set from a suggestion: by an import (``auto``) or by a person accepting it
    (``accepted``), with the suggestions shown at the time. The category change itself is in
    the transaction's audit trail, with the change reason ``suggestion``."""

    class How(models.TextChoices):
        AUTO = "auto"
        ACCEPTED = "accepted"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    transaction = models.ForeignKey(
        Transaction, on_delete=models.CASCADE, related_name="applied_suggestions"
    )
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    confidence = models.DecimalField(max_digits=4, decimal_places=3)
    # [{"category": id, "confidence": "0.930"}, …] as suggested, best first.
    suggested = models.JSONField(default=list)
    how = models.CharField(max_length=8, choices=How.choices)
    import_job = models.ForeignKey(
        ImportJob, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    applied_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["transaction", "-applied_at"], name="suggestions_applied_tx"),
        ]

    def __str__(self) -> str:
        return f"{self.how} {self.category_id} on {self.transaction_id}"
