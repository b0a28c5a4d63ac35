"""A rule applied to the ledger on demand: previewed (nothing written) or run as a job, and
undone as one batch.

Preview and run share ``rule_scan``, so a preview counts exactly the rows a run changes (when
nothing changed in between). On rows already in the ledger a rule fills only what is empty
(a category, notes, the payee it names, missing tags): what the user set always wins. Rows in
a closed period (reconciled, or on or before the lock date) are left alone and counted, and a
transfer leg never takes an income or expense category.
"""

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError
from django.db import transaction as db_transaction

from kore.core.exceptions import Conflict, KoreError, NotFound
from kore.core.jobs import job_claim, job_finish, job_heartbeat, jobs_reap
from kore.core.money import quantize
from kore.core.request_id import current_request_id
from kore.ledger import transaction_list as tl
from kore.ledger.models import Category, Split, Transaction
from kore.ledger.services.periods import closed_through, period_open_check
from kore.ledger.services.state import ledger_version_bump
from kore.ledger.services.transactions import transactions_bulk_set
from kore.ledger.services.transfers import (
    SKIP_REASONS,
    CounterFinder,
    CounterPlan,
    Leg,
    transfer_join,
    transfer_unjoin,
)
from kore.orgs.models import Organization, Role
from kore.orgs.scoping import OrgContext

from .categorise import tags_link
from .models import Payee, Rule, RuleRun
from .rules import CompiledRule, Facts, rule_compile, split_amounts

logger = logging.getLogger(__name__)

ROW_CATEGORISED = (
    "The row has an income or expense category or split lines: a transfer leg takes none."
)
CHUNK = 2000
ROWS_SHOWN = 100
# Longer than the task's time limit (its write phase sends no heartbeat).
STALE_AFTER = timedelta(minutes=20)
Status = RuleRun.Status
_COLUMNS = (
    "id", "version", "account_id", "occurred_on", "amount", "currency", "description",
    "counterparty", "payee_id", "category_id", "notes", "transfer_id", "status", "has_splits",
    "original_amount", "original_currency",
)  # fmt: skip
_FIELD = {"category": "category_id", "payee": "payee_id", "notes": "notes"}
_APART = ("tags", "split", "transfer")  # written row by row, not with the grouped fields


@dataclass
class Change:
    """One row a rule changes: its values before and after (``tags``: the names added)."""

    id: int
    version: int
    before: dict[str, Any]
    after: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "before": self.before, "after": self.after}


@dataclass
class Scan:
    matched: int = 0
    closed: int = 0
    transfer: int = 0
    timeouts: int = 0
    changes: list[Change] = field(default_factory=list)
    # Rows the transfer action leaves alone, and why (``SKIP_REASONS``).
    not_moved: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "would_change": len(self.changes),
            "skipped_closed_period": self.closed,
            "skipped_transfer_category": self.transfer,
            "skipped_transfer": len(self.not_moved),
            "regex_timeouts": self.timeouts,
            "rows": [c.as_dict() for c in self.changes[:ROWS_SHOWN]],
            "skipped_transfer_rows": self.not_moved[:ROWS_SHOWN],
        }


def _rows(organization: Organization, filters: tl.TransactionFilter | None) -> Iterator[Any]:
    if filters is None:
        qs = Transaction.objects.filter(organization=organization, deleted_at__isnull=True)
    else:
        qs = tl.filter_queryset(organization, filters)
    return qs.order_by("id").values_list(*_COLUMNS).iterator(chunk_size=CHUNK)


class _Scanner:
    def __init__(self, organization: Organization, compiled: CompiledRule) -> None:
        self.rule = compiled
        self.actions = compiled.actions
        self.names = dict(Payee.objects.filter(organization=organization).values_list("pk", "name"))
        self.kinds = dict(
            Category.objects.filter(organization=organization).values_list("pk", "kind")
        )
        self.closed = closed_through(
            organization=organization,
            account_ids=Transaction.objects.filter(organization=organization)
            .values_list("account_id", flat=True)
            .distinct(),
        )
        self.finder = CounterFinder(organization) if "transfer" in self.actions else None

    def change(self, scan: Scan, row: tuple[Any, ...]) -> Change | None:
        (pk, version, account_id, occurred_on, amount, currency, description, counterparty,
         payee_id, category_id, notes, transfer_id, status, has_splits, original_amount,
         original_currency) = row  # fmt: skip
        facts = Facts(description, counterparty, self.names.get(payee_id, ""), payee_id, amount,
                      account_id, currency, occurred_on)  # fmt: skip
        if not self.rule.matches(facts):
            return None
        scan.matched += 1
        last = self.closed.get(account_id)
        if status == Transaction.Status.RECONCILED or (last is not None and occurred_on <= last):
            scan.closed += 1
            return None
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        wanted = self.actions.get("category")
        if wanted is not None and category_id is None and not has_splits:
            if transfer_id is not None and self.kinds.get(wanted) != Category.Kind.TRANSFER:
                scan.transfer += 1
            elif wanted in self.kinds:
                before["category"], after["category"] = None, wanted
        wanted = self.actions.get("payee")
        if wanted is not None and wanted != payee_id and wanted in self.names:
            before["payee"], after["payee"] = payee_id, wanted
        if self.actions.get("notes") and not notes:
            before["notes"], after["notes"] = notes, self.actions["notes"]
        parts = self.actions.get("split")
        if parts and category_id is None and not has_splits:
            if transfer_id is not None:
                scan.transfer += 1
            elif all(p["category"] in self.kinds for p in parts):
                lines = split_amounts(amount, currency, parts)
                before["split"] = []
                after["split"] = [
                    [category, str(quantize(value, currency))] for category, value in lines
                ]
        if self.finder is not None and transfer_id is None:
            self._transfer(scan, row, before, after)
        if self.actions.get("tags"):
            after["tags"] = sorted({t.strip() for t in self.actions["tags"] if t.strip()})
        return Change(pk, version, before, after) if after else None

    def _transfer(
        self, scan: Scan, row: tuple[Any, ...], before: dict[str, Any], after: dict[str, Any]
    ) -> None:
        """The counter-leg the transfer action makes or links; a row with a category or split
        lines of its own, or none to be had, stays (counted with the reason)."""
        assert self.finder is not None
        pk, _, account_id, occurred_on, amount, currency = row[:6]
        category_id, has_splits, original_amount, original_currency = (
            row[9], row[13], row[14], row[15]
        )  # fmt: skip
        if has_splits or (
            category_id is not None and self.kinds.get(category_id) != Category.Kind.TRANSFER
        ):
            reason: str = "transfer_row_categorised"
        else:
            leg = Leg(pk, account_id, amount, currency, occurred_on, original_amount,
                      original_currency)  # fmt: skip
            plan = self.finder.plan(leg, self.actions["transfer"])
            if not isinstance(plan, str):
                before["transfer"], after["transfer"] = None, plan.as_dict()
                return
            reason = plan
        scan.not_moved.append(
            {"id": pk, "code": reason, "message": SKIP_REASONS.get(reason, ROW_CATEGORISED)}
        )


def _tags_missing(organization: Organization, changes: list[Change]) -> list[Change]:
    """Keep only the tags a row lacks; drop the changes left with nothing to do."""
    tagged = [c for c in changes if "tags" in c.after]
    has: dict[int, set[str]] = {}
    through = Transaction.tags.through
    for start in range(0, len(tagged), CHUNK):
        ids = [c.id for c in tagged[start : start + CHUNK]]
        for tx_id, name in through.objects.filter(
            transaction_id__in=ids, tag__organization=organization
        ).values_list("transaction_id", "tag__name"):
            has.setdefault(tx_id, set()).add(name)
    kept = []
    for change in changes:
        if "tags" in change.after:
            missing = [t for t in change.after["tags"] if t not in has.get(change.id, set())]
            if missing:
                change.after["tags"] = missing
            else:
                del change.after["tags"]
        if change.after:
            kept.append(change)
    return kept


def rule_scan(
    *,
    organization: Organization,
    rule: Rule,
    filters: tl.TransactionFilter | None = None,
    progress: Callable[[int], object] | None = None,
) -> Scan:
    """The rows ``rule`` would change (all live rows, or those ``filters`` select)."""
    scanner = _Scanner(organization, rule_compile(rule.pk or 0, rule.conditions, rule.actions))
    scan = Scan()
    for done, row in enumerate(_rows(organization, filters), start=1):
        change = scanner.change(scan, row)
        if change is not None:
            scan.changes.append(change)
        if progress is not None and done % CHUNK == 0:
            progress(done)
    scan.timeouts = scanner.rule.timeouts
    scan.changes = _tags_missing(organization, scan.changes)
    return scan


def rule_preview(
    *, ctx: OrgContext, rule: Rule, filters: tl.TransactionFilter | None = None
) -> dict[str, Any]:
    """What applying ``rule`` would change, written nowhere."""
    return rule_scan(organization=ctx.organization, rule=rule, filters=filters).summary()


def rule_run_create(
    *, ctx: OrgContext, rule: Rule, filters: dict[str, Any] | None = None
) -> RuleRun:
    """Queue a run of ``rule`` (its current version) over the rows ``filters`` select."""
    from .tasks import run_rule  # the task module imports this one

    with db_transaction.atomic():
        run = RuleRun.objects.create(
            organization=ctx.organization, rule=rule, rule_version=rule.version,
            created_by=ctx.user, filters=filters or {}, batch=f"rule-run-{uuid.uuid4().hex}",
        )  # fmt: skip
        db_transaction.on_commit(lambda: run_rule.delay(run.pk), robust=True)
    return run


def _write(ctx: OrgContext, changes: list[Change], *, undo: bool = False) -> list[Change]:
    """Write ``changes`` (their ``after``, or their ``before`` when undoing) to rows that have
    not changed since they were read; inside ``atomic()``. The changes written."""
    if not changes:
        return []
    seq = ledger_version_bump(organization=ctx.organization)
    live = Transaction.objects.filter(organization=ctx.organization, deleted_at__isnull=True)
    versions = dict(
        live.select_for_update().filter(pk__in=[c.id for c in changes]).values_list("pk", "version")
    )
    fresh = [c for c in changes if versions.get(c.id) == c.version + (1 if undo else 0)]
    period_open_check(
        organization=ctx.organization,
        entries=live.filter(pk__in=[c.id for c in fresh]).values_list("account_id", "occurred_on"),
    )
    fresh = _apart(ctx, seq, fresh, live, undo=undo)
    groups: dict[tuple[tuple[str, Any], ...], list[int]] = {}
    for change in fresh:
        values = change.before if undo else change.after
        key = tuple(sorted((k, v) for k, v in values.items() if k not in _APART))
        if "transfer" in change.after:
            key += (("transfer", None if undo else change.after["transfer"]["transfer"]),)
        groups.setdefault(key, []).append(change.id)
    for key, ids in groups.items():
        values = {_FIELD.get(k, f"{k}_id"): v for k, v in key}
        transactions_bulk_set(ctx=ctx, transactions=live.filter(pk__in=ids), seq=seq, **values)
    tagged = [(c.id, c.after["tags"]) for c in fresh if "tags" in c.after]
    if undo:
        through = Transaction.tags.through
        for tx_id, names in tagged:
            through.objects.filter(
                transaction_id=tx_id, tag__organization=ctx.organization, tag__name__in=names
            ).delete()
    else:
        tags_link(organization=ctx.organization, tags=tagged)
    return fresh


def _apart(
    ctx: OrgContext, seq: int, changes: list[Change], live: Any, *, undo: bool
) -> list[Change]:
    """Split lines and transfers, row by row (the rows are locked and fresh); the changes
    still to write. A transfer whose linked counter-row changed since the scan is dropped."""
    kept: list[Change] = []
    split_ids = [c.id for c in changes if "split" in c.after]
    if split_ids:
        if undo:
            Split.objects.filter(transaction_id__in=split_ids).delete()
        else:
            Split.objects.bulk_create(
                [
                    Split(transaction_id=c.id, category_id=category, amount=Decimal(value),
                          position=i)
                    for c in changes if "split" in c.after
                    for i, (category, value) in enumerate(c.after["split"])
                ]
            )  # fmt: skip
    legs = {
        tx.pk: tx for tx in live.filter(pk__in=[c.id for c in changes if "transfer" in c.after])
    }
    for change in changes:
        moved = change.after.get("transfer")
        if moved is None:
            kept.append(change)
        elif undo:
            if transfer_unjoin(ctx=ctx, seq=seq, done=moved):
                kept.append(change)
        else:
            plan = CounterPlan(moved["account"], Decimal(moved["to_amount"]), moved["counter"],
                               moved["counter_version"])  # fmt: skip
            done = transfer_join(ctx=ctx, seq=seq, leg=legs[change.id], plan=plan)
            if done is not None:
                moved.update(done)
                kept.append(change)
    return kept


def rule_run_execute(*, run_id: int) -> None:
    """Claim a queued run, scan (with progress), and write every change in one transaction."""
    claim = job_claim(RuleRun, run_id)
    if claim is None:
        return
    run = RuleRun.objects.select_related("organization", "rule", "created_by").get(pk=run_id)
    token = current_request_id.set(run.batch)  # every audit row of the run carries the batch
    try:
        if run.created_by is None:
            raise Conflict("The person who asked for the run is gone.", code="conflict")
        ctx = OrgContext(run.organization, Role.MEMBER, run.created_by, None)
        if run.rule is None or run.rule.version != run.rule_version:
            raise Conflict("The rule changed after the run was asked for.", code="rule_changed")
        filters = tl.parse_filters(run.filters) if run.filters else None
        scan = rule_scan(
            organization=run.organization, rule=run.rule, filters=filters,
            progress=lambda done: job_heartbeat(RuleRun, run_id, claim, rows_done=done),
        )  # fmt: skip
        with db_transaction.atomic():
            written = _write(ctx, scan.changes)
            job_finish(
                RuleRun, run_id, claim, Status.DONE, rows_total=scan.matched,
                rows_done=scan.matched, changed_count=len(written),
                changes=[c.as_dict() | {"version": c.version + 1} for c in written],
            )  # fmt: skip
    except KoreError as exc:
        job_finish(RuleRun, run_id, claim, Status.FAILED, code=exc.code, message=exc.message)
    except SoftTimeLimitExceeded:
        job_finish(RuleRun, run_id, claim, Status.FAILED, code="rule_run_timed_out",
                   message="The run went past its time limit; nothing was changed.")  # fmt: skip
    except DatabaseError:
        raise  # transient: the run stays running and is claimed again once re-queued
    except Exception:
        logger.exception("rule run %s failed", run_id)
        job_finish(RuleRun, run_id, claim, Status.FAILED, code="rule_run_internal_error",
                   message="The run failed unexpectedly; it has been logged.")  # fmt: skip
    finally:
        current_request_id.reset(token)


def rule_run_undo(*, ctx: OrgContext, run_id: int) -> RuleRun:
    """Put back what a finished run changed, as one batch; rows changed since are left alone."""
    with db_transaction.atomic():
        run = (
            RuleRun.objects.select_for_update()
            .filter(organization=ctx.organization, pk=run_id)
            .first()
        )
        if run is None:
            raise NotFound()
        if run.status != Status.DONE:
            raise Conflict("Only a finished run can be undone.", code="rule_run_not_undoable")
        changes = [Change(c["id"], c["version"] - 1, c["before"], c["after"]) for c in run.changes]
        token = current_request_id.set(f"{run.batch}-undo")
        try:
            _write(ctx, changes, undo=True)
        finally:
            current_request_id.reset(token)
        run.status = Status.UNDONE
        run.save(update_fields=["status", "updated_at"])
    return run


def rule_runs_reap(*, stale_after: timedelta = STALE_AFTER) -> dict[str, list[int]]:
    """Re-queue runs whose worker went silent, re-send queued ones left waiting, fail those out
    of attempts (kore.core.jobs). A run writes in one transaction, so a re-run starts clean."""
    reaped = jobs_reap(RuleRun, stale_after=stale_after, max_attempts=RuleRun.MAX_ATTEMPTS,
                       failed_code="rule_run_attempts_exhausted")  # fmt: skip
    from .tasks import run_rule  # the task module imports this one

    for pk in reaped.to_send:
        run_rule.delay(pk)
    if reaped.failed or reaped.to_send:
        logger.warning("rule run reaper: failed %s, re-queued %s, re-sent %s",
                       reaped.failed, reaped.requeued, reaped.resent)  # fmt: skip
    return {"failed": reaped.failed, "requeued": reaped.requeued, "resent": reaped.resent}
