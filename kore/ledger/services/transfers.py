"""Transfers: two linked legs, created, corrected and deleted together in one transaction.

The leg leaving ``from_account`` holds ``-amount``, the one arriving ``to_amount``;
``rate = to_amount / amount``. Within one currency both are equal and the rate is 1.
"""

from datetime import date
from decimal import Decimal

from django.db import transaction as db_transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from kore.core.audit import audit_attrs
from kore.core.exceptions import NotFound, RuleViolation, rule_violation
from kore.core.money import MoneyError, check_precision
from kore.orgs.scoping import OrgContext

from ..models import Account, Split, Transaction, Transfer
from .concurrency import check_version
from .periods import period_open_check
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
