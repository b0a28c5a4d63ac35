"""Bulk edits by ids or filter: re-categorise, tag, untag, set status, delete; all or nothing."""

from collections.abc import Sequence
from typing import Any

from django.db import transaction as db_transaction
from django.db.models import QuerySet
from django.utils import timezone

from kore.core.exceptions import Conflict, RuleViolation, rule_violation
from kore.orgs.scoping import OrgContext

from ..models import Category, Transaction
from ..transaction_list import TransactionFilter, filter_queryset
from .periods import period_open_check
from .state import ledger_version_bump
from .transactions import BATCH_LIMIT, TRANSFER_CATEGORY, _tags, transactions_bulk_set


def bulk_targets(
    ctx: OrgContext,
    ids: Sequence[int] | None = None,
    filters: TransactionFilter | None = None,
) -> QuerySet[Transaction]:
    """The live rows a bulk call named (after it ran: what it changed)."""
    if filters is not None:
        return filter_queryset(ctx.organization, filters)
    return Transaction.objects.filter(
        organization=ctx.organization, deleted_at__isnull=True, pk__in=ids or ()
    )


def _targets(
    ctx: OrgContext, ids: Sequence[int] | None, filters: TransactionFilter | None
) -> QuerySet[Transaction]:
    """The live transactions named by ``ids`` (all must exist) or matched by ``filters``."""
    if (ids is None) == (filters is None):
        raise rule_violation("ids", "ids_or_filter", "Give either ids or filter.")
    if ids is not None:
        found = set(
            Transaction.objects.filter(
                organization=ctx.organization, deleted_at__isnull=True, pk__in=ids
            ).values_list("pk", flat=True)
        )
        missing = [i for i in ids if i not in found]
        if missing:
            raise RuleViolation(
                f"{len(missing)} ids are not transactions of this organisation.",
                code="invalid_reference",
                fields={
                    f"ids.{ids.index(i)}": [
                        {"code": "not_found", "message": "No such transaction."}
                    ]
                    for i in missing[:100]
                },
            )
        qs = Transaction.objects.filter(pk__in=found)
    else:
        assert filters is not None
        qs = filter_queryset(ctx.organization, filters)
    count = qs.count()
    if count > BATCH_LIMIT:
        raise RuleViolation(
            f"{count} transactions match; at most {BATCH_LIMIT} per call.", code="batch_too_large"
        )
    if qs.filter(status=Transaction.Status.RECONCILED).exists():
        raise Conflict(
            "Some of these transactions are reconciled; reopen their statement first.",
            code="transaction_locked",
        )
    return qs


def transactions_bulk_update(
    *,
    ctx: OrgContext,
    ids: Sequence[int] | None = None,
    filters: TransactionFilter | None = None,
    changes: dict[str, Any],
    add_tags: Sequence[str] = (),
    remove_tags: Sequence[str] = (),
) -> int:
    """Set category/status and add or remove tags on every target; returns how many changed."""
    values: dict[str, Any] = {}
    if "category" in changes:
        category_id = changes["category"]
        if (
            category_id is not None
            and not Category.objects.filter(organization=ctx.organization, pk=category_id).exists()
        ):
            raise rule_violation(
                "set.category", "not_found", "No such category in this organisation."
            )
        values["category_id"] = category_id
    if "status" in changes:
        if changes["status"] == Transaction.Status.RECONCILED:
            raise rule_violation("set.status", "status_reconciled", "Only reconciling sets this.")
        values["status"] = changes["status"]
    with db_transaction.atomic():
        qs = _targets(ctx, ids, filters)
        category_id = values.get("category_id")
        if category_id is not None and qs.filter(transfer__isnull=False).exists():
            kind = Category.objects.values_list("kind", flat=True).get(pk=category_id)
            if kind != Category.Kind.TRANSFER:
                raise rule_violation("set.category", "transfer_category", TRANSFER_CATEGORY)
        seq = ledger_version_bump(organization=ctx.organization)
        period_open_check(
            organization=ctx.organization, entries=qs.values_list("account_id", "occurred_on")
        )
        rows = transactions_bulk_set(ctx=ctx, transactions=qs, seq=seq, **values)
        through = Transaction.tags.through
        tx_ids = [tx.pk for tx in rows]
        if add_tags:
            links = [
                through(transaction_id=tx_id, tag_id=tag.pk)
                for tag in _tags(ctx, add_tags)
                for tx_id in tx_ids
            ]
            through.objects.bulk_create(links, ignore_conflicts=True)
        if remove_tags:
            through.objects.filter(
                transaction_id__in=tx_ids,
                tag__organization=ctx.organization,
                tag__name__in=[t.strip() for t in remove_tags],
            ).delete()
    return len(rows)


def transactions_bulk_delete(
    *, ctx: OrgContext, ids: Sequence[int] | None = None, filters: TransactionFilter | None = None
) -> int:
    """Soft-delete every target (and the other leg of any transfer among them)."""
    with db_transaction.atomic():
        qs = _targets(ctx, ids, filters)
        transfer_ids = {t for t in qs.values_list("transfer_id", flat=True) if t}
        legs = Transaction.objects.filter(
            organization=ctx.organization, deleted_at__isnull=True, transfer_id__in=transfer_ids
        )
        if legs.filter(status=Transaction.Status.RECONCILED).exists():
            raise Conflict("A transfer's other leg is reconciled.", code="transaction_locked")
        everything = Transaction.objects.filter(
            pk__in=[*qs.values_list("pk", flat=True), *legs.values_list("pk", flat=True)]
        )
        seq = ledger_version_bump(organization=ctx.organization)
        period_open_check(
            organization=ctx.organization,
            entries=everything.values_list("account_id", "occurred_on"),
        )
        rows = transactions_bulk_set(
            ctx=ctx, transactions=everything, seq=seq, deleted_at=timezone.now()
        )
    return len(rows)
