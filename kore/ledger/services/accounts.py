from decimal import Decimal
from typing import TypedDict, Unpack

from django.db import IntegrityError, transaction

from kore.core.exceptions import Conflict, RuleViolation
from kore.core.money import MoneyError, check_precision, minor_units
from kore.orgs.scoping import OrgContext

from ..iban import account_ref_normalise
from ..models import Account, Statement, Transaction
from .concurrency import check_version
from .periods import closed_through
from .state import ledger_version_bump


def _money_rule(field: str, error: MoneyError) -> RuleViolation:
    return RuleViolation(
        error.message,
        code=error.code,
        fields={field: [{"code": error.code, "message": error.message}]},
    )


def _identifiers_free(account: Account) -> None:
    """An IBAN or account number names one account of an organisation: imports route by it."""
    others = Account.objects.filter(organization_id=account.organization_id).exclude(pk=account.pk)
    for field in ("iban", "number"):
        value = getattr(account, field)
        if value and (others.filter(iban=value).exists() or others.filter(number=value).exists()):
            raise RuleViolation(
                f"Another account of this organisation has {value}.",
                code="account_ref_taken",
                fields={field: [{"code": "account_ref_taken",
                                 "message": "Another account has this IBAN or number."}]},
            )  # fmt: skip


def account_create(
    *,
    ctx: OrgContext,
    name: str,
    currency: str,
    kind: str = Account.Kind.BANK,
    opening_balance: Decimal = Decimal(0),
    iban: str = "",
    number: str = "",
) -> Account:
    """Open an account in the caller's organisation."""
    try:
        minor_units(currency)
        check_precision(opening_balance, currency)
    except MoneyError as exc:
        raise _money_rule(
            "currency" if exc.code == "currency_unknown" else "opening_balance", exc
        ) from exc
    account = Account(
        organization=ctx.organization,
        name=name,
        currency=currency,
        kind=kind,
        opening_balance=opening_balance,
        iban=iban,
        number=account_ref_normalise(number),
    )
    try:
        with transaction.atomic():
            _identifiers_free(account)
            account.save()
            ledger_version_bump(organization=ctx.organization)
    except IntegrityError as exc:
        raise Conflict("An account with this name exists.", code="account_name_taken") from exc
    return account


class AccountChanges(TypedDict, total=False):
    """What ``account_update`` changes: the keys given."""

    name: str
    kind: str
    currency: str
    opening_balance: Decimal
    archived: bool
    iban: str
    number: str


def account_update(
    *,
    ctx: OrgContext,
    account: Account,
    if_match: str | None = None,
    **changes: Unpack[AccountChanges],
) -> Account:
    """Rename, re-kind, archive or change the opening balance (currency is fixed once used)."""
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account.pk)
        check_version(account, if_match)
        currency = changes.get("currency", account.currency)
        if currency != account.currency:
            if Transaction.objects.filter(account=account).exists():
                raise Conflict(
                    "The currency of an account with transactions cannot change.",
                    code="account_currency_locked",
                )
            try:
                minor_units(currency)
            except MoneyError as exc:
                raise _money_rule("currency", exc) from exc
        if "opening_balance" in changes or currency != account.currency:
            # A new currency must fit the balance kept too (EUR 1.50 cannot become JPY).
            opening = changes.get("opening_balance", account.opening_balance)
            try:
                check_precision(opening, currency)
            except MoneyError as exc:
                raise _money_rule("opening_balance", exc) from exc
        if changes.get("opening_balance", account.opening_balance) != account.opening_balance:
            ledger_version_bump(organization=ctx.organization)  # serialised with period moves
            _refuse_if_closed(ctx, account)
        if "number" in changes:
            changes["number"] = account_ref_normalise(changes["number"])
        for field, value in changes.items():
            setattr(account, field, value)
        if "iban" in changes or "number" in changes:
            _identifiers_free(account)
        account.version += 1
        try:
            with transaction.atomic():
                account.save()
        except IntegrityError as exc:
            raise Conflict("An account with this name exists.", code="account_name_taken") from exc
        ledger_version_bump(organization=ctx.organization)
    return account


def _refuse_if_closed(ctx: OrgContext, account: Account) -> None:
    """The opening balance counts in every period: none of the account's may be closed."""
    through = closed_through(organization=ctx.organization, account_ids=[account.pk])
    if account.pk in through:
        message = (
            "The opening balance counts in every period, and this account's books are closed "
            f"through {through[account.pk].isoformat()} (a reconciled statement or the lock "
            "date): reopen its statements or move the lock date first."
        )
        raise Conflict(
            message,
            code="period_reconciled",
            fields={"opening_balance": [{"code": "period_reconciled", "message": message}]},
        )


def account_delete(*, ctx: OrgContext, account: Account, if_match: str | None = None) -> None:
    """Delete an account with no transactions or statements; archive it otherwise."""
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account.pk)
        check_version(account, if_match)
        if (
            Transaction.objects.filter(account=account).exists()
            or Statement.objects.filter(account=account).exists()
        ):
            raise Conflict(
                "The account has transactions or statements; archive it instead.",
                code="account_in_use",
            )
        account.delete()
        ledger_version_bump(organization=ctx.organization)
