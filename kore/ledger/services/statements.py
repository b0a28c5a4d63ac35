"""Statements and reconciliation."""

from datetime import date
from decimal import Decimal

from django.db import transaction as db_transaction
from django.db.models import Q, Sum
from django.utils import timezone

from kore.core.exceptions import Conflict, NotFound, RuleViolation, rule_violation
from kore.core.money import MoneyError, check_precision, format_amount
from kore.orgs.scoping import OrgContext

from ..models import Account, Statement, Transaction
from .concurrency import check_version
from .state import ledger_version_bump
from .transactions import transactions_bulk_set

_COUNTED = (Transaction.Status.CLEARED, Transaction.Status.RECONCILED)


def statement_create(
    *, ctx: OrgContext, account: int, end_date: date, closing_balance: Decimal
) -> Statement:
    found = Account.objects.filter(organization=ctx.organization, pk=account).first()
    if found is None:
        raise rule_violation("account", "not_found", "No such account in this organisation.")
    try:
        check_precision(closing_balance, found.currency)
    except MoneyError as exc:
        raise RuleViolation(
            exc.message, code=exc.code,
            fields={"closing_balance": [{"code": exc.code, "message": exc.message}]},
        ) from exc  # fmt: skip
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
        counted = Transaction.objects.filter(
            account=account,
            deleted_at__isnull=True,
            occurred_on__lte=statement.end_date,
            status__in=_COUNTED,
        )
        total = counted.aggregate(s=Sum("amount"))["s"] or Decimal(0)
        balance = account.opening_balance + total
        if balance != statement.closing_balance:
            difference = statement.closing_balance - balance
            raise RuleViolation(
                f"The statement is off by {format_amount(difference, account.currency)}.",
                code="reconciliation_mismatch",
                fields={
                    "closing_balance": [
                        {
                            "code": "reconciliation_mismatch",
                            "message": f"difference={format_amount(difference, account.currency)}; "
                            f"computed={format_amount(balance, account.currency)}",
                        }
                    ]
                },
            )
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
