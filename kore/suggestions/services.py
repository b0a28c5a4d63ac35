"""Writes: training an organisation's model, its auto-apply setting, and applying suggestions
(on import, above the organisation's confidence; or a person accepting one)."""

import json
import logging
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db import transaction as db_transaction
from django.db.models import F, Q
from django.utils import timezone

from kore.core.audit import audit_attrs
from kore.core.exceptions import RuleViolation, rule_violation
from kore.imports.models import ImportJob
from kore.ledger.models import Transaction
from kore.ledger.services.bulk_sql import transactions_history_record
from kore.ledger.services.state import ledger_version, ledger_version_bump
from kore.ledger.services.transactions import transaction_update
from kore.orgs.models import Organization, User
from kore.orgs.scoping import OrgContext

from .engine import DEFAULT_METHOD, Classifier, Example, Suggestion, Text, reading, train
from .models import AppliedSuggestion, SuggestionModel, SuggestionSettings
from .selectors import suggestion_model_get

logger = logging.getLogger(__name__)

CHANGE_REASON = "suggestion"
APPLY_CHUNK = 2000


def suggestion_model_train(*, organization: Organization, force: bool = False) -> bool:
    """Learn from the organisation's most recent categorised rows (at most
    ``KORE_SUGGESTIONS_TRAIN_ROWS``); skipped when the ledger has not changed since the last
    training. Returns whether a model was stored."""
    seen = ledger_version(organization=organization)
    stored = SuggestionModel.objects.filter(organization=organization).first()
    if stored is not None and stored.ledger_version == seen and not force:
        return False
    rows = (
        Transaction.objects.filter(
            organization=organization, deleted_at__isnull=True, category__isnull=False,
            transfer__isnull=True,
        )
        .order_by("-occurred_on", "-id")
        .values_list("counterparty", "description", "amount", "category_id")
    )[: settings.KORE_SUGGESTIONS_TRAIN_ROWS]  # fmt: skip
    examples = [Example(Text(c, d, a), cat) for c, d, a, cat in rows.iterator(chunk_size=5000)]
    began = time.perf_counter()
    model = train(DEFAULT_METHOD, reversed(examples))
    took = int((time.perf_counter() - began) * 1000)
    values = {
        "method": model.method, "data": model.dumps(), "rows": len(examples),
        "categories": len({e.category_id for e in examples}), "ledger_version": seen,
        "train_ms": took, "trained_at": timezone.now(),
    }  # fmt: skip
    updated = SuggestionModel.objects.filter(organization=organization).update(
        version=F("version") + 1, **values
    )
    if not updated:
        SuggestionModel.objects.create(organization=organization, **values)
    logger.info("suggestions: trained %s on %s rows in %s ms", organization.pk, len(examples), took)
    return True


def suggestion_settings_update(
    *, ctx: OrgContext, auto_apply_confidence: Decimal | None
) -> SuggestionSettings:
    """Set the confidence from which imports apply the top suggestion (None: never)."""
    value = auto_apply_confidence
    if value is not None and not SuggestionSettings.MIN_CONFIDENCE <= value <= 1:
        raise rule_violation(
            "auto_apply_confidence", "confidence_out_of_range",
            "auto_apply_confidence is between 0.50 and 1.00, or null to apply nothing.",
        )  # fmt: skip
    with db_transaction.atomic():
        row, _ = SuggestionSettings.objects.select_for_update().get_or_create(
            organization=ctx.organization
        )
        if row.auto_apply_confidence != value:
            row.auto_apply_confidence = value
            row.version += 1
            row._history_user = ctx.user  # type: ignore[attr-defined]
            row.save()
    return row


def suggested_record(found: Sequence[Suggestion]) -> list[dict[str, Any]]:
    """What ``AppliedSuggestion.suggested`` keeps of the suggestions shown, best first."""
    return [{"category": s.category_id, "confidence": f"{s.confidence:.3f}"} for s in found]


class AutoApply:
    """An import's auto-apply: the organisation's model and ``auto_apply_confidence``, read
    once, and which suggestions a row that arrives uncategorised gets applied. Rows that read
    the same ask the model once (the last ``ASKED_KEPT`` readings are kept)."""

    ASKED_KEPT = 20_000

    def __init__(self, model: Classifier, threshold: Decimal) -> None:
        self.model, self.threshold = model, threshold
        self.asked: dict[tuple[str, str, str, int], list[Suggestion]] = {}

    def choose(self, counterparty: str, description: str, amount: Decimal) -> list[Suggestion]:
        """The row's suggestions, best first, if the best one is applied; else none."""
        text = Text(counterparty, description, amount)
        read = reading(text)
        got = self.asked.get(read)
        if got is None:
            if len(self.asked) >= self.ASKED_KEPT:
                self.asked.clear()
            got = self.asked[read] = self.model.suggest(text)
        if got and Decimal(f"{got[0].confidence:.3f}") >= self.threshold:
            return got
        return []


def auto_apply_get(*, organization: Organization) -> AutoApply | None:
    """The organisation's auto-apply for an import, or None when it is off or untrained."""
    threshold = (
        SuggestionSettings.objects.filter(organization=organization)
        .values_list("auto_apply_confidence", flat=True)
        .first()
    )
    if threshold is None:
        return None
    found = suggestion_model_get(organization=organization)
    return None if found is None else AutoApply(found[0], threshold)


def suggestions_import_apply(
    *, job: ImportJob, auto: AutoApply, lines: Iterable[int], through: int = 0
) -> int:
    """Set the top suggestion's category on the job's rows at these lines (and at every line
    up to ``through``) that are still uncategorised and whose confidence reaches the
    organisation's ``auto_apply_confidence``; audited with the change reason ``suggestion`` and
    recorded as ``AppliedSuggestion`` rows. Returns how many were set. For the rows an import
    could not decide before writing them (booked onto an existing transaction, a transfer a
    rule asked for that was not made, or written by an earlier attempt of a resumed job): the
    others had their suggestion applied as they were written (``suggestions_chunk_apply`` on
    the ORM path, ``kore.imports.staging`` on PostgreSQL)."""
    ordered = sorted(set(lines))
    scopes = [Q(import_line__in=ordered[i : i + APPLY_CHUNK])
              for i in range(0, len(ordered), APPLY_CHUNK)]  # fmt: skip
    if through:
        scopes.append(Q(import_line__lte=through))
    chosen: dict[int, list[Suggestion]] = {}
    for scope in scopes:
        rows = Transaction.objects.filter(
            scope, account_id=job.account_id, import_job=job, category__isnull=True,
            deleted_at__isnull=True, transfer__isnull=True, has_splits=False,
        ).values_list("id", "counterparty", "description", "amount")  # fmt: skip
        for tx_id, counterparty, description, amount in rows.iterator(chunk_size=APPLY_CHUNK):
            got = auto.choose(counterparty, description, amount)
            if got:
                chosen[tx_id] = got
    ids = sorted(chosen)
    applied = 0
    for start in range(0, len(ids), APPLY_CHUNK):
        part = {i: chosen[i] for i in ids[start : start + APPLY_CHUNK]}
        applied += _apply(job, part)
    return applied


def suggestions_chunk_apply(
    *, job: ImportJob, chosen: dict[int, list[Suggestion]], seq: int
) -> None:
    """The ORM path's import (SQLite): the chunk's rows just written, each with the suggestions
    chosen before it was written, get the top one's category in the chunk's change; the same
    rows, audit rows and ``AppliedSuggestion`` rows as the PostgreSQL path writes them in one."""
    now = timezone.now()
    ids = _categories_set_orm(chosen, seq, now)
    history_record(ids=ids, user=job.created_by, now=now, set_based=False)
    applied_record(job=job, chosen={i: chosen[i] for i in ids}, now=now, set_based=False)


def _apply(job: ImportJob, chosen: dict[int, list[Suggestion]]) -> int:
    set_based = connection.vendor == "postgresql"
    with db_transaction.atomic():
        seq = ledger_version_bump(organization=job.organization)
        now = timezone.now()
        if set_based:
            ids = _categories_set(chosen, seq, now)
        else:
            ids = _categories_set_orm(chosen, seq, now)
        history_record(ids=ids, user=job.created_by, now=now, set_based=set_based)
        applied_record(job=job, chosen={i: chosen[i] for i in ids}, now=now, set_based=set_based)
    return len(ids)


def _categories_set(chosen: dict[int, list[Suggestion]], seq: int, now: datetime) -> list[int]:
    """Each row's top category in one UPDATE over arrays that re-checks the row and returns the
    ids it changed (PostgreSQL): still uncategorised (a category someone set meanwhile wins),
    not deleted, not reconciled. The write locks the row itself; reading and locking the rows
    first dirtied every row's page once more."""
    ids = list(chosen)
    table = Transaction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} t SET category_id = v.category, version = t.version + 1, "  # noqa: S608 - the model's table
            "change_seq = %s, updated_at = %s "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, category) "
            "WHERE t.id = v.id AND t.category_id IS NULL AND t.deleted_at IS NULL "
            "AND t.status <> %s RETURNING t.id",
            [seq, now, ids, [chosen[i][0].category_id for i in ids],
             Transaction.Status.RECONCILED.value],
        )  # fmt: skip
        return sorted(row[0] for row in cursor.fetchall())


def _categories_set_orm(chosen: dict[int, list[Suggestion]], seq: int, now: datetime) -> list[int]:
    """What ``_categories_set`` does, through the ORM (SQLite): the rows still open, locked,
    then one UPDATE per category."""
    ids = list(
        Transaction.objects.select_for_update()
        .filter(pk__in=chosen, category__isnull=True, deleted_at__isnull=True)
        .exclude(status=Transaction.Status.RECONCILED)
        .values_list("id", flat=True)
    )
    by_category: dict[int, list[int]] = {}
    for tx_id in ids:
        by_category.setdefault(chosen[tx_id][0].category_id, []).append(tx_id)
    for category_id, part in by_category.items():
        Transaction.objects.filter(pk__in=part).update(
            category_id=category_id, version=F("version") + 1, change_seq=seq, updated_at=now
        )
    return ids


def applied_record(
    *, job: ImportJob, chosen: dict[int, list[Suggestion]], now: datetime, set_based: bool
) -> None:
    """An import's ``AppliedSuggestion`` rows (transaction id → what was suggested, the first
    applied): one INSERT … SELECT over arrays on PostgreSQL (the ORM's multi-row INSERT binds
    nine parameters a row, and building that statement cost more than writing the rows), the
    ORM elsewhere (the same rows: a test holds them equal)."""
    if not set_based:
        AppliedSuggestion.objects.bulk_create(
            _applied(job, i, found) for i, found in chosen.items()
        )
        return
    if not chosen:
        return
    ids = list(chosen)
    table = AppliedSuggestion._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (organization_id, transaction_id, category_id, confidence, "  # noqa: S608 - the model's table
            "suggested, how, import_job_id, applied_by_id, applied_at) "
            "SELECT %s, v.tx, v.category, v.confidence, v.suggested::jsonb, %s, %s, %s, %s "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[], %s::text[]) "
            "AS v(tx, category, confidence, suggested)",
            [
                job.organization_id, AppliedSuggestion.How.AUTO.value, job.pk, job.created_by_id,
                now, ids, [chosen[i][0].category_id for i in ids],
                [f"{chosen[i][0].confidence:.3f}" for i in ids],
                [json.dumps(suggested_record(chosen[i])) for i in ids],
            ],
        )  # fmt: skip


def history_record(*, ids: list[int], user: User | None, now: datetime, set_based: bool) -> None:
    """The audit rows of transactions whose category a suggestion set: one INSERT … SELECT on
    PostgreSQL, simple-history's bulk helper elsewhere (the same rows: a test holds them equal)."""
    if set_based:
        transactions_history_record(ids=ids, change_reason=CHANGE_REASON,
                                    history_user_id=user.pk if user else None, now=now)  # fmt: skip
        return
    Transaction.history.bulk_history_create(
        list(Transaction.objects.filter(pk__in=ids)), update=True, default_user=user,
        default_change_reason=CHANGE_REASON, default_date=now,
        custom_historical_attrs=audit_attrs(),
    )  # fmt: skip


def _applied(job: ImportJob, tx_id: int, found: list[Suggestion]) -> AppliedSuggestion:
    return AppliedSuggestion(
        organization_id=job.organization_id, transaction_id=tx_id,
        category_id=found[0].category_id, confidence=f"{found[0].confidence:.3f}",
        suggested=suggested_record(found), how=AppliedSuggestion.How.AUTO, import_job=job,
        applied_by=job.created_by,
    )  # fmt: skip


def suggestion_accept(
    *, ctx: OrgContext, tx_id: int, category_id: int, shown: list[Suggestion]
) -> Transaction:
    """A person takes one of the suggestions shown for an uncategorised row."""
    offered = {s.category_id: s for s in shown}
    if category_id not in offered:
        raise RuleViolation(
            "That category is not among this row's suggestions now; set it on the "
            "transaction instead.",
            code="suggestion_not_offered",
            fields={"category": [{"code": "suggestion_not_offered", "message": "Not offered."}]},
        )
    with db_transaction.atomic():
        tx = transaction_update(ctx=ctx, tx_id=tx_id, category=category_id)
        AppliedSuggestion.objects.create(
            organization=ctx.organization, transaction=tx, category_id=category_id,
            confidence=f"{offered[category_id].confidence:.3f}", suggested=suggested_record(shown),
            how=AppliedSuggestion.How.ACCEPTED, applied_by=ctx.user,
        )  # fmt: skip
    return tx


def retrain_after_import(*, job: ImportJob) -> None:
    """A large import changes what the organisation's rows look like: retrain on commit."""
    if job.dry_run or job.created_count < settings.KORE_SUGGESTIONS_RETRAIN_AFTER_ROWS:
        return
    from .tasks import train_organization

    organization_id = job.organization_id
    db_transaction.on_commit(lambda: train_organization.delay(organization_id), robust=True)
