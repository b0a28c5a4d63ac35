"""Rules: validated, created, changed, reordered and deleted; versioned (ETag) and audited."""

import hashlib
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import regex
from django.db import transaction as db_transaction
from django.db.models import Max

from kore.core.exceptions import (
    FieldErrors,
    NotFound,
    PreconditionFailed,
    RuleViolation,
    rule_violation,
)
from kore.core.money import MoneyError, is_currency, parse_amount
from kore.ledger.models import Account, Category
from kore.ledger.services.concurrency import check_version
from kore.orgs.scoping import OrgContext

from .models import Payee, Rule
from .rules import ACTION_FIELDS, TEXT_FIELDS, regex_compile

TEXT_MAX = 500
TAGS_MAX = 20
SPLIT_MAX = 20
REFS: dict[str, type[Payee] | type[Account]] = {"payee_id": Payee, "account": Account}


def _add(errors: FieldErrors, name: str, code: str, message: str) -> None:
    errors.setdefault(name, []).append({"code": code, "message": message})


def _bad(errors: FieldErrors, name: str, message: str) -> None:
    _add(errors, name, "rule_invalid", message)


def _text_condition(errors: FieldErrors, name: str, op: Any, value: Any) -> None:
    if op not in ("contains", "equals", "regex"):
        _bad(errors, f"{name}.op", "Text is matched with contains, equals or regex.")
    elif not isinstance(value, str) or not value.strip() or len(value) > TEXT_MAX:
        _bad(errors, f"{name}.value", f"A text of 1 to {TEXT_MAX} characters.")
    elif op == "regex":
        try:
            regex_compile(value)
        except regex.error:
            _bad(errors, f"{name}.value", "Not a regular expression.")


def _bounds(errors: FieldErrors, name: str, value: Any, keys: tuple[str, str]) -> None:
    if not isinstance(value, dict) or not set(value) <= set(keys) or not value:
        _bad(errors, f"{name}.value", f"An object with {keys[0]} and/or {keys[1]}.")
        return
    parsed: list[Any] = []
    for key in keys:
        raw = value.get(key)
        if raw is None:
            parsed.append(None)
            continue
        try:
            if not isinstance(raw, str):
                raise ValueError
            parsed.append(parse_amount(raw) if keys[0] == "min" else date.fromisoformat(raw))
        except (ValueError, MoneyError):
            _bad(errors, f"{name}.value.{key}", "A decimal string or ISO date, as the field takes.")
            return
    if None not in parsed and parsed[0] > parsed[1]:
        _add(errors, f"{name}.value", "reversed_range", "The lower bound is above the upper.")


def _condition(ctx: OrgContext, errors: FieldErrors, name: str, raw: Any) -> None:
    if not isinstance(raw, dict) or set(raw) != {"field", "op", "value"}:
        _bad(errors, name, "A condition is an object with field, op and value.")
        return
    field, op, value = raw["field"], raw["op"], raw["value"]
    if field in TEXT_FIELDS:
        _text_condition(errors, name, op, value)
    elif field in ("amount", "date"):
        if op != "between":
            _bad(errors, f"{name}.op", "Amounts and dates are matched with between.")
        _bounds(errors, name, value, ("min", "max") if field == "amount" else ("from", "to"))
    elif field in REFS:
        if op != "equals" or type(value) is not int:
            _bad(errors, name, "Matched with equals and an id.")
        elif not REFS[field].objects.filter(organization=ctx.organization, pk=value).exists():
            _add(errors, f"{name}.value", "not_found", "No such object in this organisation.")
    elif field == "currency":
        if op != "equals" or not isinstance(value, str) or not is_currency(value):
            _bad(errors, name, "Matched with equals and an ISO 4217 code.")
    elif field == "direction":
        if op != "equals" or value not in ("in", "out"):
            _bad(errors, name, "Matched with equals and in or out.")
    else:
        _bad(errors, f"{name}.field", "Not a field rules look at.")


def _category_ref(ctx: OrgContext, errors: FieldErrors, name: str, value: Any) -> None:
    if type(value) is not int:
        _bad(errors, name, "A category id.")
    elif not Category.objects.filter(organization=ctx.organization, pk=value).exists():
        _add(errors, name, "not_found", "No such category in this organisation.")


def _split(ctx: OrgContext, errors: FieldErrors, parts: Any) -> None:
    if not isinstance(parts, list) or not 2 <= len(parts) <= SPLIT_MAX:
        _bad(errors, "actions.split", f"From 2 to {SPLIT_MAX} parts.")
        return
    total = Decimal(0)
    for index, part in enumerate(parts):
        name = f"actions.split.{index}"
        if not isinstance(part, dict) or set(part) != {"category", "percent"}:
            _bad(errors, name, "A part is an object with category and percent.")
            continue
        _category_ref(ctx, errors, f"{name}.category", part["category"])
        percent = part["percent"]
        try:
            share = Decimal(percent) if isinstance(percent, str | int) else Decimal("NaN")
        except ArithmeticError:
            share = Decimal("NaN")
        if not share.is_finite() or share <= 0:
            _bad(errors, f"{name}.percent", 'A positive percentage, e.g. "25" or 25.')
            continue
        total += share
    if total != 100 and "actions.split" not in errors:
        _bad(errors, "actions.split", "The percentages add up to 100.")


def _actions(ctx: OrgContext, errors: FieldErrors, actions: Any) -> None:
    if not isinstance(actions, dict) or not actions or not set(actions) <= set(ACTION_FIELDS):
        _bad(errors, "actions", f"An object with some of: {', '.join(ACTION_FIELDS)}.")
        return
    if "category" in actions and "split" in actions:
        _bad(errors, "actions", "A rule sets a category or a split, not both.")
    if "category" in actions:
        _category_ref(ctx, errors, "actions.category", actions["category"])
    if "payee" in actions:
        payee = actions["payee"]
        if type(payee) is not int:
            _bad(errors, "actions.payee", "A payee id.")
        elif not Payee.objects.filter(organization=ctx.organization, pk=payee).exists():
            _add(errors, "actions.payee", "not_found", "No such payee in this organisation.")
    tags = actions.get("tags", [])
    if (
        not isinstance(tags, list)
        or len(tags) > TAGS_MAX
        or not all(isinstance(t, str) and 0 < len(t.strip()) <= 50 for t in tags)
    ):
        _bad(errors, "actions.tags", f"Up to {TAGS_MAX} tag names of 1 to 50 characters.")
    notes = actions.get("notes", "x")
    if not isinstance(notes, str) or not notes.strip() or len(notes) > 10_000:
        _bad(errors, "actions.notes", "A text of 1 to 10,000 characters.")
    if "split" in actions:
        _split(ctx, errors, actions["split"])
    if "transfer" in actions:
        _transfer(ctx, errors, actions)


def _transfer(ctx: OrgContext, errors: FieldErrors, actions: dict[str, Any]) -> None:
    if "category" in actions or "split" in actions:
        _bad(errors, "actions", "A transfer leg takes no category or split.")
    account = actions["transfer"]
    if type(account) is not int:
        _bad(errors, "actions.transfer", "An account id.")
    elif not Account.objects.filter(organization=ctx.organization, pk=account).exists():
        _add(errors, "actions.transfer", "not_found", "No such account in this organisation.")


def rule_check(ctx: OrgContext, conditions: Any, actions: Any) -> None:
    """Refuse a rule that cannot run: 422 ``rule_invalid``, or ``invalid_reference`` when it
    names another organisation's (or no) category, payee or account."""
    errors: FieldErrors = {}
    if not isinstance(conditions, list) or not 1 <= len(conditions) <= 20:
        _bad(errors, "conditions", "From 1 to 20 conditions.")
    else:
        for index, raw in enumerate(conditions):
            _condition(ctx, errors, f"conditions.{index}", raw)
    _actions(ctx, errors, actions)
    if errors:
        codes = {e["code"] for errs in errors.values() for e in errs}
        code = "invalid_reference" if "not_found" in codes else "rule_invalid"
        first = next(iter(errors.values()))[0]["message"]
        raise RuleViolation(first, code=code, fields=errors)


def _locked(ctx: OrgContext, rule_id: int) -> Rule:
    rule = (
        Rule.objects.select_for_update().filter(organization=ctx.organization, pk=rule_id).first()
    )
    if rule is None:
        raise NotFound()
    return rule


def rule_order_etag(ids: Sequence[int]) -> str:
    """The ETag of an organisation's rule order: any move, addition or removal changes it."""
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:20]
    return f'"order-{digest}"'


def _renumber(ordered: list[Rule], *, skip: Rule | None = None) -> None:
    """Number ``ordered`` 0, 1, … saving (and so auditing) each rule whose place changed; the
    version is left alone, since a rule's place is not what it does (a queued run of it stays
    good). ``skip`` is saved by its caller."""
    for index, item in enumerate(ordered):
        if item.position != index:
            item.position = index
            if item is not skip:
                item.save(update_fields=["position", "updated_at"])


def _place(ctx: OrgContext, rule: Rule, position: int) -> None:
    """Move ``rule`` to ``position`` (0 first) and number the organisation's rules 0, 1, …"""
    others = list(
        Rule.objects.select_for_update()
        .filter(organization=ctx.organization)
        .exclude(pk=rule.pk)
        .order_by("position", "id")
    )
    others.insert(max(0, min(position, len(others))), rule)
    _renumber(others, skip=rule)


def rule_order_set(*, ctx: OrgContext, order: Sequence[int], if_match: str | None = None) -> None:
    """Put the organisation's rules in ``order`` (every rule's id, once). ``if_match`` is the
    order's ETag (``rule_order_etag``) as the caller read it: a stale one is a 412."""
    with db_transaction.atomic():
        current = list(
            Rule.objects.select_for_update()
            .filter(organization=ctx.organization)
            .order_by("position", "id")
        )
        if if_match is not None and rule_order_etag([r.pk for r in current]) != if_match.strip():
            raise PreconditionFailed(
                "The rules were reordered, added or removed since you read them; "
                "fetch their order again and retry.",
                code="version_conflict",
            )
        by_id = {r.pk: r for r in current}
        unknown = [i for i in order if i not in by_id]
        if unknown:
            raise rule_violation("order", "not_found", f"No rule {unknown[0]} here.")
        if len(order) != len(by_id) or len(set(order)) != len(order):
            raise rule_violation(
                "order", "rule_invalid", "Name every rule of the organisation exactly once."
            )
        _renumber([by_id[i] for i in order])


def rule_create(
    *,
    ctx: OrgContext,
    name: str,
    conditions: Any,
    actions: Any,
    enabled: bool = True,
    position: int | None = None,
) -> Rule:
    """A rule, last in the order unless ``position`` says where."""
    rule_check(ctx, conditions, actions)
    with db_transaction.atomic():
        last = Rule.objects.select_for_update().filter(organization=ctx.organization)
        end = (last.aggregate(m=Max("position"))["m"] or 0) + 1
        rule = Rule(
            organization=ctx.organization, name=name.strip(), conditions=conditions,
            actions=actions, enabled=enabled, position=end,
        )  # fmt: skip
        if position is not None:
            rule.save()
            _place(ctx, rule, position)
        rule.save()
    return rule


def rule_update(
    *, ctx: OrgContext, rule_id: int, if_match: str | None = None, **changes: Any
) -> Rule:
    """Change a rule's name, conditions, actions, enabled flag or place in the order."""
    with db_transaction.atomic():
        rule = _locked(ctx, rule_id)
        check_version(rule, if_match)
        rule_check(
            ctx, changes.get("conditions", rule.conditions), changes.get("actions", rule.actions)
        )
        for key in ("name", "conditions", "actions", "enabled"):
            if key in changes:
                setattr(rule, key, changes[key].strip() if key == "name" else changes[key])
        if "position" in changes:
            _place(ctx, rule, changes["position"])
        rule.version += 1
        rule.save()
    return rule


def rule_delete(*, ctx: OrgContext, rule_id: int, if_match: str | None = None) -> None:
    with db_transaction.atomic():
        rule = _locked(ctx, rule_id)
        check_version(rule, if_match)
        rule.delete()
