"""Transfers: two linked legs written in one database transaction."""

from datetime import date
from decimal import Decimal

from django.db import transaction as db_transaction
from simple_history.utils import bulk_create_with_history

from kore.core.exceptions import rule_violation
from kore.core.money import MoneyError, check_precision
from kore.orgs.scoping import OrgContext

from ..audit import audit_attrs
from ..models import Account, Transaction, Transfer
from .periods import period_open_check
from .state import ledger_version_bump
from .transactions import _archived_conflict


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
    for field, value, currency in (
        ("amount", amount, source.currency),
        ("to_amount", to_amount, target.currency),
    ):
        try:
            check_precision(value, currency)
        except MoneyError as exc:
            raise rule_violation(field, exc.code, exc.message) from exc
    _archived_conflict([source, target])
    with db_transaction.atomic():
        seq = ledger_version_bump(organization=ctx.organization)
        period_open_check(
            organization=ctx.organization,
            entries=[(source.pk, occurred_on), (target.pk, occurred_on)],
        )
        transfer = Transfer.objects.create(
            organization=ctx.organization, rate=(to_amount / amount).quantize(Decimal("1e-10"))
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
