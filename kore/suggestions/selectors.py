"""Reads: the suggestions for rows, from the organisation's stored model.

Each process keeps the models it loaded (at most ``KORE_SUGGESTIONS_MODELS_KEPT``, the least
recently used dropped first) and asks the database only for the stored version, one small
query per request, so a model the worker retrains reaches every process on its next request.
"""

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

from kore.imports.models import ImportJob
from kore.ledger.models import Category, Transaction
from kore.orgs.models import Organization

from .engine import Classifier, Suggestion, Text, loads
from .models import AppliedSuggestion, SuggestionModel, SuggestionSettings


@dataclass(frozen=True, slots=True)
class ModelInfo:
    method: str
    version: int
    rows: int
    trained_at: datetime


_kept: "OrderedDict[int, tuple[int, Classifier, ModelInfo]]" = OrderedDict()
_lock = threading.Lock()


def suggestion_model_get(*, organization: Organization) -> tuple[Classifier, ModelInfo] | None:
    """The organisation's trained model, loaded once per process and version."""
    stored = (
        SuggestionModel.objects.filter(organization=organization)
        .values_list("version", "method", "rows", "trained_at")
        .first()
    )
    if stored is None:
        return None
    version, method, rows, trained_at = stored
    with _lock:
        kept = _kept.get(organization.pk)
        if kept is not None and kept[0] == version:
            _kept.move_to_end(organization.pk)
            return kept[1], kept[2]
    data = (
        SuggestionModel.objects.filter(organization=organization, version=version)
        .values_list("data", flat=True)
        .first()
    )
    if data is None:  # retrained in between: the next request loads the new one
        return None
    model, info = loads(bytes(data)), ModelInfo(method, version, rows, trained_at)
    with _lock:
        _kept[organization.pk] = (version, model, info)
        _kept.move_to_end(organization.pk)
        while len(_kept) > settings.KORE_SUGGESTIONS_MODELS_KEPT:
            _kept.popitem(last=False)
    return model, info


def text_of(tx: Transaction) -> Text:
    return Text(tx.counterparty, tx.description, tx.amount)


def needs_category(tx: Transaction) -> bool:
    """Whether a row is one to suggest a category for: live, uncategorised, not split, not a
    transfer leg (a transfer has no income or expense category)."""
    return (
        tx.category_id is None
        and not tx.has_splits
        and tx.transfer_id is None
        and tx.deleted_at is None
    )


def suggestions_for(
    *, organization: Organization, texts: Sequence[Text | None]
) -> tuple[list[list[Suggestion]], ModelInfo | None]:
    """Up to three suggestions for each text (none for ``None``), best first."""
    found = suggestion_model_get(organization=organization)
    if found is None:
        return [[] for _ in texts], None
    model, info = found
    return [model.suggest(text) if text is not None else [] for text in texts], info


def categories_named(*, organization: Organization, ids: set[int]) -> dict[int, Category]:
    """The organisation's categories among ``ids`` (a deleted one is simply missing)."""
    if not ids:
        return {}
    return {c.pk: c for c in Category.objects.filter(organization=organization, pk__in=ids)}


def suggestion_settings_get(*, organization: Organization) -> SuggestionSettings:
    found = SuggestionSettings.objects.filter(organization=organization).first()
    return found or SuggestionSettings(organization=organization)


def applied_suggestions_of(
    *, organization: Organization, tx_ids: Sequence[int]
) -> dict[int, AppliedSuggestion]:
    """The latest applied suggestion of each of these transactions that has one."""
    rows = AppliedSuggestion.objects.filter(organization=organization, transaction_id__in=tx_ids)
    latest: dict[int, AppliedSuggestion] = {}
    for row in rows.select_related("category").order_by("transaction_id", "-applied_at", "-id"):
        latest.setdefault(row.transaction_id, row)
    return latest


_FIELDS = ("id", "counterparty", "description", "amount", "category_id", "has_splits",
           "transfer_id", "deleted_at")  # fmt: skip


def transaction_for_suggestion(*, organization: Organization, tx_id: int) -> Transaction | None:
    """A live transaction of the organisation, with what suggestions read of it."""
    return (
        Transaction.objects.filter(organization=organization, pk=tx_id, deleted_at__isnull=True)
        .only(*_FIELDS)
        .first()
    )


def transactions_for_suggestion(
    *, organization: Organization, tx_ids: Sequence[int]
) -> list[Transaction]:
    """The organisation's live transactions among ``tx_ids``, in the order asked."""
    found = {
        tx.pk: tx
        for tx in Transaction.objects.filter(
            organization=organization, pk__in=tx_ids, deleted_at__isnull=True
        ).only(*_FIELDS)
    }
    return [found[i] for i in dict.fromkeys(tx_ids) if i in found]


def import_preview_suggestions(
    *, job: ImportJob
) -> tuple[list[int], list[list[Suggestion]], ModelInfo | None]:
    """Suggestions for the booked rows of an import's preview (refused rows have none)."""
    rows = [r for r in (job.preview or {}).get("rows", []) if "error" not in r]
    texts: list[Text | None] = []
    for row in rows:
        try:
            amount = Decimal(str(row.get("amount", "0")).replace(",", ""))
        except InvalidOperation:
            amount = Decimal(0)
        texts.append(Text(row.get("counterparty") or "", row.get("description") or "", amount))
    found, info = suggestions_for(organization=job.organization, texts=texts)
    return [int(r["line"]) for r in rows], found, info


def applied_suggestions_shown(*, organization: Organization, tx_id: int) -> list[dict[str, Any]]:
    """What was suggested and applied to one transaction, newest first, with category names."""
    rows = list(
        AppliedSuggestion.objects.filter(organization=organization, transaction_id=tx_id)
        .select_related("category", "applied_by")
        .order_by("-applied_at", "-id")
    )
    ids = {int(s["category"]) for row in rows for s in row.suggested}
    names = categories_named(organization=organization, ids=ids)
    return [
        {
            "how": row.how, "category": row.category, "applied_by": row.applied_by,
            "import_job_id": row.import_job_id, "applied_at": row.applied_at,
            "confidence": row.confidence,
            "suggested_named": [
                {"name": names[int(s["category"])].name,
                 "percent": round(float(s["confidence"]) * 100)}
                for s in row.suggested if int(s["category"]) in names
            ],
        }
        for row in rows
    ]  # fmt: skip
