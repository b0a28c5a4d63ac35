"""Payees: found or created from counterparties, created, renamed, given aliases and a default
category, and merged."""

from collections.abc import Sequence
from typing import Any

from django.db import transaction as db_transaction

from kore.core.exceptions import Conflict, NotFound, rule_violation
from kore.imports.matching import counterparty_normalise
from kore.ledger.models import Category, Transaction
from kore.ledger.services.concurrency import check_version
from kore.ledger.services.state import ledger_version_bump
from kore.ledger.services.transactions import transactions_bulk_set
from kore.orgs.scoping import OrgContext

from .models import Payee, PayeeAlias, Rule


def _category(ctx: OrgContext, category_id: int | None) -> Category | None:
    if category_id is None:
        return None
    found = Category.objects.filter(organization=ctx.organization, pk=category_id).first()
    if found is None:
        raise rule_violation(
            "default_category", "not_found", "No such category in this organisation."
        )
    return found


def _keys(field: str, texts: Sequence[str]) -> list[str]:
    keys = []
    for index, text in enumerate(texts):
        key = counterparty_normalise(text)
        if not key:
            raise rule_violation(
                f"{field}.{index}", "payee_alias_empty", "This spelling has no words to match."
            )
        keys.append(key)
    return list(dict.fromkeys(keys))


def _aliases_take(ctx: OrgContext, payee: Payee, keys: list[str]) -> None:
    taken = PayeeAlias.objects.filter(organization=ctx.organization, key__in=keys).exclude(
        payee=payee
    )
    if taken.exists():
        raise Conflict(
            f"Another payee answers to {taken.first().key!r}; merge the two instead.",  # type: ignore[union-attr]
            code="payee_alias_taken",
        )
    PayeeAlias.objects.bulk_create(
        [PayeeAlias(organization=ctx.organization, payee=payee, key=key) for key in keys],
        ignore_conflicts=True,
    )


def payee_create(
    *,
    ctx: OrgContext,
    name: str,
    aliases: Sequence[str] = (),
    default_category: int | None = None,
) -> Payee:
    """A payee answering to its name and ``aliases``."""
    keys = _keys("name", [name]) + _keys("aliases", aliases)
    with db_transaction.atomic():
        payee = Payee(
            organization=ctx.organization,
            name=name.strip(),
            default_category=_category(ctx, default_category),
        )
        payee.save()
        _aliases_take(ctx, payee, list(dict.fromkeys(keys)))
    return payee


def payee_locked(ctx: OrgContext, payee_id: int) -> Payee:
    payee = (
        Payee.objects.select_for_update().filter(organization=ctx.organization, pk=payee_id).first()
    )
    if payee is None:
        raise NotFound()
    return payee


def payee_update(
    *, ctx: OrgContext, payee_id: int, if_match: str | None = None, **changes: Any
) -> Payee:
    """Rename, add aliases (the ones it has stay), set or clear the default category."""
    with db_transaction.atomic():
        payee = payee_locked(ctx, payee_id)
        check_version(payee, if_match)
        if "name" in changes:
            payee.name = changes["name"].strip()
            _aliases_take(ctx, payee, _keys("name", [payee.name]))
        if "aliases" in changes:
            _aliases_take(ctx, payee, _keys("aliases", changes["aliases"]))
        if "default_category" in changes:
            payee.default_category = _category(ctx, changes["default_category"])
        payee.version += 1
        payee.save()
    return payee


def _rules_repoint(ctx: OrgContext, source: int, target: int) -> None:
    """Rules naming the merged payee (a condition or an action) name the survivor."""
    for rule in Rule.objects.select_for_update().filter(organization=ctx.organization):
        changed = False
        for condition in rule.conditions:
            if condition.get("field") == "payee_id" and condition.get("value") == source:
                condition["value"], changed = target, True
        if rule.actions.get("payee") == source:
            rule.actions["payee"], changed = target, True
        if changed:
            rule.version += 1
            rule.save()


def payee_merge(*, ctx: OrgContext, payee_id: int, into: int) -> Payee:
    """Merge one payee into another, in one transaction: its aliases, transactions and rules
    move to the survivor (so later imports of its spellings land there) and it is deleted."""
    if payee_id == into:
        raise rule_violation("into", "payee_merge_self", "A payee cannot be merged into itself.")
    with db_transaction.atomic():
        first, second = sorted((payee_id, into))  # lock in id order: no deadlock between merges
        locked = {pk: payee_locked(ctx, pk) for pk in (first, second)}
        source, target = locked[payee_id], locked[into]
        PayeeAlias.objects.filter(payee=source).update(payee=target)
        rows = Transaction.objects.filter(organization=ctx.organization, payee=source)
        if rows.exists():
            seq = ledger_version_bump(organization=ctx.organization)
            transactions_bulk_set(ctx=ctx, transactions=rows, seq=seq, payee_id=target.pk)
        _rules_repoint(ctx, source.pk, target.pk)
        if target.default_category_id is None and source.default_category_id is not None:
            target.default_category_id = source.default_category_id
        target.version += 1
        target.save()
        source.delete()
    return target
