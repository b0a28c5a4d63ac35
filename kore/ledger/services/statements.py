"""Statements and reconciliation."""

from datetime import date
from decimal import Decimal

from django.db import transaction as db_transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from kore.core.exceptions import Conflict, NotFound, RuleViolation, rule_violation
from kore.core.money import MoneyError, check_precision, format_amount
from kore.orgs.models import Organization
from kore.orgs.scoping import OrgContext

from ..models import Account, Statement, Transaction
from ..selectors import CLEARED_STATUSES
from .concurrency import check_version
from .periods import closed_through
from .state import ledger_version_bump
from .transactions import transactions_bulk_set


def statement_counted(*, account: Account, end_date: date) -> QuerySet[Transaction]:
    """The rows a statement to ``end_date`` counts: live, cleared or reconciled, to that day."""
    return Transaction.objects.filter(
        account=account,
        deleted_at__isnull=True,
        occurred_on__lte=end_date,
        status__in=CLEARED_STATUSES,
    )


def statement_cleared_balance(*, account: Account, end_date: date) -> Decimal:
    """What reconciling compares with the closing balance: the opening balance plus the
    counted rows. Pending rows do not count until they are ticked (cleared)."""
    total = statement_counted(account=account, end_date=end_date).aggregate(s=Sum("amount"))["s"]
    return Decimal(account.opening_balance) + (total or Decimal(0))


def statement_uncleared(*, account: Account, end_date: date) -> QuerySet[Transaction]:
    """The live pending rows to ``end_date``: what a mismatch usually waits for."""
    return Transaction.objects.filter(
        account=account,
        deleted_at__isnull=True,
        occurred_on__lte=end_date,
        status=Transaction.Status.PENDING,
    )


def statement_rows_to_tick(
    *, organization: Organization, account: Account, end_date: date, limit: int
) -> list[Transaction]:
    """The live rows reconciling to ``end_date`` can still clear or unclear: pending or cleared,
    after the account's closed period, oldest first; at most ``limit``."""
    rows = Transaction.objects.filter(
        organization=organization,
        account=account,
        deleted_at__isnull=True,
        occurred_on__lte=end_date,
        status__in=[Transaction.Status.PENDING, Transaction.Status.CLEARED],
    )
    closed = closed_through(organization=organization, account_ids=[account.pk])
    if account.pk in closed:
        rows = rows.filter(occurred_on__gt=closed[account.pk])
    return list(rows.order_by("occurred_on", "id")[:limit])


def _closing_checked(closing_balance: Decimal, currency: str) -> None:
    try:
        check_precision(closing_balance, currency)
    except MoneyError as exc:
        raise RuleViolation(
            exc.message, code=exc.code,
            fields={"closing_balance": [{"code": exc.code, "message": exc.message}]},
        ) from exc  # fmt: skip


def statement_create(
    *, ctx: OrgContext, account: int, end_date: date, closing_balance: Decimal
) -> Statement:
    found = Account.objects.filter(organization=ctx.organization, pk=account).first()
    if found is None:
        raise rule_violation("account", "not_found", "No such account in this organisation.")
    _closing_checked(closing_balance, found.currency)
    with db_transaction.atomic():
        statement = Statement.objects.create(
            organization=ctx.organization,
            account=found,
            end_date=end_date,
            closing_balance=closing_balance,
        )
        ledger_version_bump(organization=ctx.organization)
    return statement


def _statement(ctx: OrgContext, statement_id: int) -> Statement:
    statement = (
        Statement.objects.select_for_update()
        .select_related("account")
        .filter(organization=ctx.organization, pk=statement_id)
        .first()
    )
    if statement is None:
        raise NotFound()
    return statement


def _mismatch(account: Account, statement: Statement, balance: Decimal) -> RuleViolation:
    """The 422 of a reconcile that does not add up, saying what counts and what is waiting."""
    currency = account.currency
    difference = statement.closing_balance - balance
    pending = statement_uncleared(account=account, end_date=statement.end_date).aggregate(
        n=Count("id"), s=Sum("amount")
    )
    waiting = ""
    if pending["n"]:
        waiting = (
            f" {pending['n']} uncleared transactions to that date total "
            f"{format_amount(pending['s'], currency)}: tick those that are on the statement "
            "(mark them cleared) and reconcile again."
        )
    message = (
        f"The statement is off by {format_amount(difference, currency)}: only cleared "
        f"transactions count, and the opening balance plus those to "
        f"{statement.end_date.isoformat()} is {format_amount(balance, currency)}.{waiting}"
    )
    return RuleViolation(
        message,
        code="reconciliation_mismatch",
        fields={
            "closing_balance": [
                {
                    "code": "reconciliation_mismatch",
                    "message": f"difference={format_amount(difference, currency)}; "
                    f"computed={format_amount(balance, currency)} (cleared transactions only); "
                    f"uncleared={pending['n']}",
                }
            ]
        },
    )


def statement_update(
    *,
    ctx: OrgContext,
    statement_id: int,
    if_match: str | None = None,
    end_date: date | None = None,
    closing_balance: Decimal | None = None,
) -> Statement:
    """Correct an open statement's date or closing balance (a reconciled one: reopen it first)."""
    with db_transaction.atomic():
        statement = _statement(ctx, statement_id)
        check_version(statement, if_match)
        _refuse_if_reconciled(statement)
        if closing_balance is not None:
            _closing_checked(closing_balance, statement.account.currency)
            statement.closing_balance = closing_balance
        if end_date is not None:
            statement.end_date = end_date
        statement.version += 1
        statement.save()
        ledger_version_bump(organization=ctx.organization)
    return statement


def statement_delete(*, ctx: OrgContext, statement_id: int, if_match: str | None = None) -> None:
    """Delete an open statement (kept in the audit history); a reconciled one is reopened first."""
    with db_transaction.atomic():
        statement = _statement(ctx, statement_id)
        check_version(statement, if_match)
        _refuse_if_reconciled(statement)
        statement.delete()
        ledger_version_bump(organization=ctx.organization)


def _refuse_if_reconciled(statement: Statement) -> None:
    if statement.status == Statement.Status.RECONCILED:
        raise Conflict(
            "The statement is reconciled; an admin must reopen it before it can change.",
            code="statement_reconciled",
        )


def statement_reconcile(
    *, ctx: OrgContext, statement_id: int, if_match: str | None = None
) -> Statement:
    """Reconcile when opening balance + cleared/reconciled transactions to the end date equals
    the closing balance; mark those transactions reconciled. Otherwise 422 with the difference."""
    with db_transaction.atomic():
        statement = _statement(ctx, statement_id)
        check_version(statement, if_match)
        if statement.status == Statement.Status.RECONCILED:
            raise Conflict("The statement is already reconciled.", code="statement_reconciled")
        account = Account.objects.select_for_update().get(pk=statement.account_id)
        # Take the organisation's ledger lock before summing: a writer that holds it must commit
        # first, or the sum could miss its change and a stale total get reconciled.
        seq = ledger_version_bump(organization=ctx.organization)
        counted = statement_counted(account=account, end_date=statement.end_date)
        balance = statement_cleared_balance(account=account, end_date=statement.end_date)
        if balance != statement.closing_balance:
            raise _mismatch(account, statement, balance)
        transactions_bulk_set(
            ctx=ctx,
            transactions=counted.filter(Q(statement__isnull=True) | Q(statement=statement)),
            seq=seq,
            status=Transaction.Status.RECONCILED,
            statement=statement,
        )
        statement.status = Statement.Status.RECONCILED
        statement.reconciled_at = timezone.now()
        statement.version += 1
        statement.save()
    return statement


def statement_reopen(
    *, ctx: OrgContext, statement_id: int, if_match: str | None = None
) -> Statement:
    """Admins reopen a statement: its transactions go back to cleared and can be edited."""
    with db_transaction.atomic():
        statement = _statement(ctx, statement_id)
        check_version(statement, if_match)
        if statement.status != Statement.Status.RECONCILED:
            raise Conflict("The statement is not reconciled.", code="statement_open")
        seq = ledger_version_bump(organization=ctx.organization)
        lock = Organization.objects.values_list("lock_date", flat=True).get(pk=ctx.organization.pk)
        if lock is not None and statement.end_date <= lock:
            raise Conflict(
                f"The books are locked through {lock.isoformat()}: move the lock date before "
                "reopening a statement inside it.",
                code="period_reconciled",
            )
        transactions_bulk_set(
            ctx=ctx,
            transactions=Transaction.objects.filter(statement=statement),
            seq=seq,
            status=Transaction.Status.CLEARED,
            statement=None,
        )
        statement.status = Statement.Status.OPEN
        statement.reconciled_at = None
        statement.version += 1
        statement.save()
    return statement
