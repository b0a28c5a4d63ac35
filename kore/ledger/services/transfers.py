"""Transfers: two linked legs, created, corrected and deleted together in one transaction.

The leg leaving ``from_account`` holds ``-amount``, the one arriving ``to_amount``;
``rate = to_amount / amount``. Within one currency both are equal and the rate is 1.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction as db_transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from kore.core.audit import audit_attrs
from kore.core.exceptions import NotFound, RuleViolation, rule_violation
from kore.core.money import MoneyError, check_precision, quantize
from kore.orgs.models import Organization
from kore.orgs.scoping import OrgContext

from ..models import Account, Category, Split, Transaction, Transfer
from .concurrency import check_version
from .periods import closed_through, period_open_check
from .state import ledger_version_bump
from .transactions import _archived_conflict, _refuse_if_locked, transactions_bulk_set

RATE_PLACES = Decimal("1e-10")


def _checked(field: str, value: Decimal, currency: str) -> None:
    try:
        check_precision(value, currency)
    except MoneyError as exc:
        raise rule_violation(field, exc.code, exc.message) from exc


def transfer_create(
    *,
    ctx: OrgContext,
    from_account: int,
    to_account: int,
    amount: Decimal,
    occurred_on: date,
    to_amount: Decimal | None = None,
    description: str = "",
) -> Transfer:
    """Move ``amount`` out of one account and ``to_amount`` into another (same currency: equal)."""
    accounts = {
        a.pk: a
        for a in Account.objects.filter(
            organization=ctx.organization, pk__in=[from_account, to_account]
        )
    }
    source, target = accounts.get(from_account), accounts.get(to_account)
    if source is None:
        raise rule_violation("from_account", "not_found", "No such account in this organisation.")
    if target is None:
        raise rule_violation("to_account", "not_found", "No such account in this organisation.")
    if source.pk == target.pk:
        raise rule_violation(
            "to_account", "same_account", "A transfer needs two different accounts."
        )
    if amount <= 0:
        raise rule_violation("amount", "amount_not_positive", "The amount moved must be positive.")
    if source.currency == target.currency:
        if to_amount is not None and to_amount != amount:
            raise rule_violation(
                "to_amount", "to_amount_mismatch", "Same currency: to_amount must equal amount."
            )
        to_amount = amount
    elif to_amount is None or to_amount <= 0:
        raise rule_violation(
            "to_amount", "to_amount_required", "A cross-currency transfer states both amounts."
        )
    _checked("amount", amount, source.currency)
    _checked("to_amount", to_amount, target.currency)
    _archived_conflict([source, target])
    with db_transaction.atomic():
        seq = ledger_version_bump(organization=ctx.organization)
        period_open_check(
            organization=ctx.organization,
            entries=[(source.pk, occurred_on), (target.pk, occurred_on)],
        )
        transfer = Transfer.objects.create(
            organization=ctx.organization, rate=(to_amount / amount).quantize(RATE_PLACES)
        )
        legs = [
            Transaction(
                organization=ctx.organization, account=account, occurred_on=occurred_on,
                amount=value, currency=account.currency, description=description,
                transfer=transfer, created_by=ctx.user, created_by_token=ctx.api_token,
                change_seq=seq,
            )
            for account, value in ((source, -amount), (target, to_amount))
        ]  # fmt: skip
        bulk_create_with_history(
            legs, Transaction, default_user=ctx.user, custom_historical_attrs=audit_attrs()
        )
    return transfer


def _locked_transfer(
    ctx: OrgContext, transfer_id: int
) -> tuple[Transfer, Transaction, Transaction]:
    """The transfer and its two live legs (leaving, arriving), locked; 404 when deleted."""
    transfer = (
        Transfer.objects.select_for_update()
        .filter(organization=ctx.organization, pk=transfer_id)
        .first()
    )
    if transfer is None:
        raise NotFound()
    legs = sorted(
        Transaction.objects.select_for_update()
        .select_related("account")
        .filter(transfer=transfer, deleted_at__isnull=True),
        key=lambda leg: (leg.amount, leg.pk),
    )
    if len(legs) != 2:
        raise NotFound()
    return transfer, legs[0], legs[1]


def _arriving(
    *,
    source: Transaction,
    target: Transaction,
    amount: Decimal,
    amount_given: bool,
    to_amount: Decimal | None,
    rate: Decimal | None,
) -> Decimal:
    """The amount arriving after a correction; refuses whatever would be a guess."""
    if source.currency == target.currency:
        if rate is not None and rate != 1:
            raise rule_violation("rate", "rate_mismatch", "Same currency: the rate is 1.")
        if to_amount is not None and to_amount != amount:
            raise rule_violation(
                "to_amount", "to_amount_mismatch", "Same currency: to_amount must equal amount."
            )
        return amount
    if to_amount is not None and rate is not None:
        raise rule_violation(
            "rate", "rate_or_to_amount", "Give to_amount or rate, not both (the rate follows)."
        )
    if to_amount is not None:
        if to_amount <= 0:
            raise rule_violation(
                "to_amount", "amount_not_positive", "The amount arriving must be positive."
            )
        return to_amount
    if rate is not None:
        if rate <= 0:
            raise rule_violation("rate", "rate_not_positive", "The rate must be positive.")
        arriving = amount * rate
        try:
            check_precision(arriving, target.currency)
        except MoneyError as exc:
            raise rule_violation(
                "rate",
                "rate_inexact",
                f"{amount} * {rate} = {arriving.normalize():f} {target.currency}, more decimals "
                f"than {target.currency} has; give to_amount instead.",
            ) from exc
        return arriving
    if amount_given:
        raise rule_violation(
            "to_amount",
            "to_amount_required",
            "A cross-currency amount changes with to_amount or rate: say which stays.",
        )
    return Decimal(target.amount)


def transfer_update(
    *,
    ctx: OrgContext,
    transfer_id: int,
    if_match: str | None = None,
    amount: Decimal | None = None,
    to_amount: Decimal | None = None,
    rate: Decimal | None = None,
    occurred_on: date | None = None,
    description: str | None = None,
) -> Transfer:
    """Correct both legs at once: amount (and to_amount or rate across currencies), date,
    description. Each leg's change is in its audit history; the transfer's version moves."""
    with db_transaction.atomic():
        seq = ledger_version_bump(organization=ctx.organization)
        transfer, source, target = _locked_transfer(ctx, transfer_id)
        check_version(transfer, if_match)
        for leg in (source, target):
            _refuse_if_locked(leg)
        if amount is not None and amount <= 0:
            raise rule_violation(
                "amount", "amount_not_positive", "The amount moved must be positive."
            )
        moved = -source.amount if amount is None else amount
        arriving = _arriving(
            source=source, target=target, amount=moved, amount_given=amount is not None,
            to_amount=to_amount, rate=rate,
        )  # fmt: skip
        _checked("amount", moved, source.currency)
        _checked("to_amount", arriving, target.currency)
        changes_amount = moved != -source.amount or arriving != target.amount
        if changes_amount and Split.objects.filter(transaction__in=[source, target]).exists():
            raise RuleViolation(
                "A leg of this transfer is split; edit its split lines with the amount.",
                code="splits_sum_mismatch",
                fields={"amount": [{"code": "splits_sum_mismatch",
                                    "message": "A leg is split; its lines would not add up."}]},
            )  # fmt: skip
        entries = [(leg.account_id, leg.occurred_on) for leg in (source, target)]
        if occurred_on is not None:
            entries += [(leg.account_id, occurred_on) for leg in (source, target)]
        period_open_check(organization=ctx.organization, entries=entries)
        now = timezone.now()
        for leg, value in ((source, -moved), (target, arriving)):
            leg.amount = value
            if occurred_on is not None:
                leg.occurred_on = occurred_on
            if description is not None:
                leg.description = description
            leg.version, leg.change_seq, leg.updated_at = leg.version + 1, seq, now
        bulk_update_with_history(
            [source, target], Transaction,
            ["amount", "occurred_on", "description", "version", "change_seq", "updated_at"],
            default_user=ctx.user, custom_historical_attrs=audit_attrs(),
        )  # fmt: skip
        transfer.rate = (arriving / moved).quantize(RATE_PLACES)
        transfer.version += 1
        transfer.save()
    return transfer


def transfer_delete(*, ctx: OrgContext, transfer_id: int, if_match: str | None = None) -> None:
    """Soft-delete both legs (restorable for 30 days through either leg)."""
    with db_transaction.atomic():
        seq = ledger_version_bump(organization=ctx.organization)
        transfer, source, target = _locked_transfer(ctx, transfer_id)
        check_version(transfer, if_match)
        for leg in (source, target):
            _refuse_if_locked(leg)
        period_open_check(
            organization=ctx.organization,
            entries=[(leg.account_id, leg.occurred_on) for leg in (source, target)],
        )
        transactions_bulk_set(
            ctx=ctx,
            transactions=Transaction.objects.filter(pk__in=[source.pk, target.pk]),
            seq=seq,
            deleted_at=timezone.now(),
        )
        transfer.version += 1
        transfer.save(update_fields=["version"])


# A row made one leg of a transfer by a rule (kore.payees): the counter-leg is a row the
# destination account already holds (same amount, opposite sign, dated within the
# organisation's import matching window, not yet a transfer leg), linked; else a new one.
SKIP_REASONS = {
    "transfer_same_account": "The row is already in the account it would be moved to.",
    "transfer_zero_amount": "A row of zero moves nothing.",
    "transfer_rate_unknown": "The accounts' currencies differ and the row states no amount in "
    "the destination's currency: Kore does not guess a rate.",
    "transfer_closed_period": "The counter-leg would be in a closed period of the destination "
    "account (a reconciled statement or the lock date).",
    "transfer_counter_categorised": "The matching row in the destination account has an income "
    "or expense category or split lines; a transfer leg takes none.",
    "transfer_account_gone": "The destination account is archived or no longer exists.",
    "transfer_counter_taken": "The row is the counter-leg of another row's transfer.",
}


@dataclass(frozen=True, slots=True)
class Leg:
    """The row a rule makes a transfer leg, as the planner sees it."""

    id: int | None
    account_id: int
    amount: Decimal
    currency: str
    occurred_on: date
    original_amount: Decimal | None
    original_currency: str


@dataclass(frozen=True, slots=True)
class CounterPlan:
    """What joining does: ``counter`` (a row to link, with its ``counter_version``) or a new
    row of ``to_amount`` (signed, in the destination's currency) in ``account``."""

    account: int
    to_amount: Decimal
    counter: int | None = None
    counter_version: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"account": self.account, "to_amount": str(self.to_amount),
                "counter": self.counter, "counter_version": self.counter_version}  # fmt: skip


class CounterFinder:
    """Plans counter-legs for one call, import or rule run: reads each destination account's
    loose rows once and never hands one row to two legs."""

    def __init__(self, organization: Organization, dates: tuple[date, date] | None = None) -> None:
        """``dates``: the first and last day of the legs to come, when known (fewer rows read)."""
        self.organization = organization
        self.days = timedelta(days=organization.import_match_days)
        self.accounts = {
            a.pk: a for a in Account.objects.filter(organization=organization, archived=False)
        }
        self.closed = closed_through(organization=organization, account_ids=self.accounts)
        self.dates = dates
        # Per account, its loose rows by amount.
        self.loose: dict[int, dict[Decimal, list[tuple[Any, ...]]]] = {}
        self.taken: set[int] = set()

    def _loose(self, account_id: int) -> dict[Decimal, list[tuple[Any, ...]]]:
        if account_id not in self.loose:
            rows = Transaction.objects.filter(
                organization=self.organization, account_id=account_id, transfer__isnull=True,
                deleted_at__isnull=True,
            )  # fmt: skip
            if self.dates is not None:
                rows = rows.filter(
                    occurred_on__range=(self.dates[0] - self.days, self.dates[1] + self.days)
                )
            by_amount: dict[Decimal, list[tuple[Any, ...]]] = {}
            for row in rows.order_by("occurred_on", "id").values_list(
                "id", "version", "occurred_on", "amount", "status", "category_id",
                "category__kind", "has_splits",
            ).iterator(chunk_size=5000):  # fmt: skip
                by_amount.setdefault(row[3], []).append(row)
            self.loose[account_id] = by_amount
        return self.loose[account_id]

    def plan(self, leg: Leg, account_id: int) -> CounterPlan | str:
        """The counter-leg for ``leg`` in ``account_id``, or why there is none (a key of
        ``SKIP_REASONS``). Reserves a linked row."""
        target = self.accounts.get(account_id)
        if target is None:
            return "transfer_account_gone"
        if leg.account_id == account_id:
            return "transfer_same_account"
        if leg.amount == 0:
            return "transfer_zero_amount"
        if leg.id is not None and leg.id in self.taken:
            return "transfer_counter_taken"
        if target.currency == leg.currency:
            to_amount = quantize(-leg.amount, target.currency)
        elif leg.original_amount is not None and leg.original_currency == target.currency:
            to_amount = abs(leg.original_amount) * (-1 if leg.amount > 0 else 1)
            try:
                check_precision(to_amount, target.currency)
            except MoneyError:
                return "transfer_rate_unknown"
            to_amount = quantize(to_amount, target.currency)
        else:
            return "transfer_rate_unknown"
        last = self.closed.get(account_id)
        low, high = leg.occurred_on - self.days, leg.occurred_on + self.days
        fits = [
            row for row in self._loose(account_id).get(to_amount, ())
            if low <= row[2] <= high and row[0] not in self.taken and row[0] != leg.id
        ]  # fmt: skip
        if fits:
            row = min(fits, key=lambda r: (abs((r[2] - leg.occurred_on).days), r[0]))
            closed = last is not None and row[2] <= last
            if closed or row[4] == Transaction.Status.RECONCILED:
                return "transfer_closed_period"
            if row[7] or (row[5] is not None and row[6] != Category.Kind.TRANSFER):
                return "transfer_counter_categorised"
            self.taken.update((row[0], leg.id) if leg.id is not None else (row[0],))
            return CounterPlan(account_id, to_amount, row[0], row[1])
        if last is not None and leg.occurred_on <= last:
            return "transfer_closed_period"
        if leg.id is not None:
            self.taken.add(leg.id)
        return CounterPlan(account_id, to_amount)


def transfer_join(
    *, ctx: OrgContext, seq: int, leg: Transaction, plan: CounterPlan
) -> dict[str, Any] | None:
    """Make ``leg`` (locked, not yet a transfer leg) one leg of a transfer as ``plan`` says;
    inside ``atomic()`` after ``ledger_version_bump``. What was done (for undoing), or None
    when a linked row changed since it was planned. The leg's own version is not bumped."""
    leaving = leg.amount if leg.amount < 0 else plan.to_amount
    arriving = plan.to_amount if leg.amount < 0 else leg.amount
    counter: Transaction | None = None
    if plan.counter is not None:
        live = Transaction.objects.filter(
            organization=ctx.organization, transfer__isnull=True, deleted_at__isnull=True
        )
        counter = (
            live.select_for_update()
            .filter(pk=plan.counter, version=plan.counter_version or 0)
            .first()
        )
        if counter is None:
            return None
    written_on = leg.occurred_on if counter is None else counter.occurred_on
    period_open_check(organization=ctx.organization, entries=[(plan.account, written_on)])
    transfer = Transfer.objects.create(
        organization=ctx.organization, rate=(arriving / -leaving).quantize(RATE_PLACES)
    )
    if counter is not None:
        (counter,) = transactions_bulk_set(
            ctx=ctx, transactions=Transaction.objects.filter(pk=counter.pk), seq=seq,
            transfer=transfer,
        )  # fmt: skip
        created = False
    else:
        target = Account.objects.get(organization=ctx.organization, pk=plan.account)
        counter = Transaction(
            organization=ctx.organization, account=target, occurred_on=leg.occurred_on,
            amount=plan.to_amount, currency=target.currency, description=leg.description,
            counterparty=leg.counterparty, transfer=transfer, created_by=ctx.user,
            created_by_token=ctx.api_token, change_seq=seq, status=Transaction.Status.PENDING,
        )  # fmt: skip
        bulk_create_with_history(
            [counter], Transaction, default_user=ctx.user, custom_historical_attrs=audit_attrs()
        )
        created = True
    leg.transfer = transfer
    return {"transfer": transfer.pk, "counter": counter.pk, "created": created,
            "counter_version_after": counter.version}  # fmt: skip


def transfer_unjoin(*, ctx: OrgContext, seq: int, done: dict[str, Any]) -> bool:
    """Undo ``transfer_join``'s counter side: a created counter-leg is deleted, a linked one
    let go, and the transfer removed (the leg itself is set back by the caller). False, and
    nothing done, when the counter-leg changed since (or is gone): the transfer stays."""
    live = Transaction.objects.filter(
        organization=ctx.organization, pk=done["counter"], transfer_id=done["transfer"],
        deleted_at__isnull=True,
    )  # fmt: skip
    version = live.select_for_update().values_list("version", flat=True).first()
    if version is None or version != done.get("counter_version_after", version):
        return False
    period_open_check(
        organization=ctx.organization, entries=live.values_list("account_id", "occurred_on")
    )
    values: dict[str, Any] = {"transfer": None}
    if done["created"]:
        values["deleted_at"] = timezone.now()
    transactions_bulk_set(ctx=ctx, transactions=live, seq=seq, **values)
    Transfer.objects.filter(organization=ctx.organization, pk=done["transfer"]).delete()
    return True


def transfers_join(
    *, ctx: OrgContext, seq: int, legs: Sequence[tuple[Transaction, int]]
) -> dict[int, str]:
    """Rows that rules move to another account (``(row, account id)``): each becomes a
    transfer leg; inside the creating ``atomic()``. Rows not saved yet are given their
    transfer to be saved with it; saved ones are updated here (audited). The rows left as
    they are, by their index in ``legs``, with the reason (``SKIP_REASONS``)."""
    if not legs:
        return {}
    days = [tx.occurred_on for tx, _ in legs]
    finder = CounterFinder(ctx.organization, dates=(min(days), max(days)))
    skipped: dict[int, str] = {}
    joined: list[Transaction] = []
    for index, (tx, account_id) in enumerate(legs):
        plan = finder.plan(
            Leg(tx.pk, tx.account_id, Decimal(tx.amount), tx.currency, tx.occurred_on,
                tx.original_amount, tx.original_currency),
            account_id,
        )  # fmt: skip
        if isinstance(plan, str):
            skipped[index] = plan
            continue
        if transfer_join(ctx=ctx, seq=seq, leg=tx, plan=plan) is None:
            skipped[index] = "transfer_closed_period"
            continue
        if tx.pk is not None:
            tx.version, tx.change_seq, tx.updated_at = tx.version + 1, seq, timezone.now()
            joined.append(tx)
    if joined:
        bulk_update_with_history(
            joined, Transaction, ["transfer", "version", "change_seq", "updated_at"],
            default_user=ctx.user, custom_historical_attrs=audit_attrs(),
        )  # fmt: skip
    return skipped
