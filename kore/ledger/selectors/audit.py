"""Reads of the audit trail: the simple-history tables of eight models, merged into one feed.

Newest first, keyset-paginated over ``(history_date, object_type, history_id)``. Each page asks
every table for its ``limit + 1`` newest rows below the cursor (with the id of each row's
previous version annotated), merges them and cuts to ``limit``; the previous versions are then
fetched by id, one query per table. At most two queries per table a page, at any depth.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.forms.models import model_to_dict

from kore.core.exceptions import InvalidRequest
from kore.core.money import MoneyError, format_amount
from kore.core.pagination import cursor_decode, cursor_encode
from kore.orgs.models import Membership, Organization
from kore.payees.models import Payee, Rule

from ..models import Account, Category, Statement, Transaction, Transfer

# Sorted by name: the name is the middle of the sort key.
AUDITED: dict[str, type[models.Model]] = {
    "account": Account,
    "category": Category,
    "membership": Membership,
    "payee": Payee,
    "rule": Rule,
    "statement": Statement,
    "transaction": Transaction,
    "transfer": Transfer,
}
OBJECT_TYPES = tuple(AUDITED)
ACTIONS = ("created", "updated", "deleted")
_ACTION = {"+": "created", "~": "updated", "-": "deleted"}
# The object's own id and organisation never change: they are not "changes".
_NOT_CHANGES = frozenset({"id", "organization"})


@dataclass(frozen=True)
class AuditFilter:
    object_type: str | None = None
    object_id: int | None = None


def _history(kind: str) -> Any:
    return AUDITED[kind].history.model  # type: ignore[attr-defined]


def _bad_cursor() -> InvalidRequest:
    return InvalidRequest(
        "The cursor is not valid here (forged, or from another list).",
        code="invalid_cursor",
        fields={"cursor": [{"code": "invalid_cursor", "message": "Not a valid cursor."}]},
    )


def _decode(cursor: str, scope: str) -> tuple[datetime, str, int]:
    values = cursor_decode(cursor, scope=scope)
    try:
        at, kind, history_id = values
        when = datetime.fromisoformat(at)
    except (TypeError, ValueError) as exc:
        raise _bad_cursor() from exc
    if not isinstance(kind, str) or kind not in AUDITED or not isinstance(history_id, int):
        raise _bad_cursor()
    if when.tzinfo is None:
        raise _bad_cursor()
    return when, kind, history_id


def _below(kind: str, bound: tuple[datetime, str, int]) -> Q:
    """This table's rows whose ``(history_date, kind, history_id)`` sorts below ``bound``."""
    at, bound_kind, history_id = bound
    if kind < bound_kind:
        return Q(history_date__lte=at)
    if kind > bound_kind:
        return Q(history_date__lt=at)
    return Q(history_date__lt=at) | Q(history_date=at, history_id__lt=history_id)


def _table_page(
    kind: str,
    organization: Organization,
    filters: AuditFilter,
    bound: tuple[datetime, str, int] | None,
    limit: int,
) -> list[Any]:
    history = _history(kind)
    earlier = Q(history_date__lt=OuterRef("history_date")) | Q(
        history_date=OuterRef("history_date"), history_id__lt=OuterRef("history_id")
    )
    previous = (
        history.objects.filter(earlier, id=OuterRef("id"))
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    qs = history.objects.filter(organization_id=organization.pk)
    if filters.object_id is not None:
        qs = qs.filter(id=filters.object_id)
    if bound is not None:
        qs = qs.filter(_below(kind, bound))
    qs = qs.annotate(prev_history_id=Subquery(previous))
    if kind == "statement":  # a statement's money is in its account's currency
        account = Account.objects.filter(pk=OuterRef("account_id")).values("currency")[:1]
        qs = qs.annotate(account_currency=Subquery(account))
    return list(
        qs.select_related("history_user").order_by("-history_date", "-history_id")[: limit + 1]
    )


def _currency(record: Any) -> str | None:
    return getattr(record, "currency", None) or getattr(record, "account_currency", None)


def _jsonable(value: Any, currency: str | None) -> Any:
    if isinstance(value, Decimal):  # money: a string with the currency's decimals
        if currency:
            try:
                return format_amount(value, currency)
            except MoneyError:
                pass
        return format(value, "f")
    if isinstance(value, datetime):
        text = value.isoformat()
        return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    return value


def _fields(record: Any) -> list[str]:
    return [f.name for f in record.tracked_fields if f.editable and f.name not in _NOT_CHANGES]


def _snapshot(record: Any, side: str) -> dict[str, dict[str, Any]]:
    values = model_to_dict(record, fields=_fields(record))
    currency = _currency(record)
    return {name: {side: _jsonable(values[name], currency)} for name in sorted(values)}


def _changes(record: Any, prev: Any | None) -> dict[str, dict[str, Any]]:
    if record.history_type == "+" or (record.history_type == "~" and prev is None):
        return _snapshot(record, "after")
    if record.history_type == "-":
        return _snapshot(record, "before")  # the last state, gone
    delta = record.diff_against(prev, excluded_fields=_NOT_CHANGES)
    before_currency = _currency(prev) or _currency(record)
    return {
        change.field: {
            "before": _jsonable(change.old, before_currency),
            "after": _jsonable(change.new, _currency(record)),
        }
        for change in delta.changes
    }


def _action(kind: str, record: Any, prev: Any | None) -> str:
    if (
        kind == "transaction"
        and record.history_type == "~"
        and record.deleted_at is not None
        and (prev is None or prev.deleted_at is None)
    ):
        return "deleted"  # a soft delete (restorable); the purge is a "-" row
    return _ACTION[record.history_type]


def _previous_records(kind: str, records: Iterable[Any]) -> dict[int, Any]:
    ids = {r.prev_history_id for r in records if r.prev_history_id is not None}
    if not ids:
        return {}
    history = _history(kind)
    qs = history.objects.filter(history_id__in=ids)
    if kind == "statement":
        account = Account.objects.filter(pk=OuterRef("account_id")).values("currency")[:1]
        qs = qs.annotate(account_currency=Subquery(account))
    return {r.history_id: r for r in qs}


def _entry(kind: str, record: Any, prev: Any | None) -> dict[str, Any]:
    user = record.history_user
    return {
        "id": f"{kind}:{record.history_id}",
        "object_type": kind,
        "object_id": record.id,
        "action": _action(kind, record, prev),
        "at": _jsonable(record.history_date, None),
        "actor": {
            "user_id": record.history_user_id,
            "email": user.email if user is not None else None,
            "api_token_id": record.api_token_id,
        },
        "request_id": record.request_id,
        "changes": _changes(record, prev),
    }


def audit_page(
    *,
    organization: Organization,
    filters: AuditFilter,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the organisation's audit entries, newest first, and the next cursor."""
    kinds = [filters.object_type] if filters.object_type else list(AUDITED)
    scope = f"audit:{organization.pk}:{filters.object_type or '*'}:{filters.object_id or '*'}"
    bound = _decode(cursor, scope) if cursor else None
    merged = [
        (record.history_date, kind, record.history_id, record)
        for kind in kinds
        for record in _table_page(kind, organization, filters, bound, limit)
    ]
    merged.sort(key=lambda row: row[:3], reverse=True)
    more = len(merged) > limit
    page = merged[:limit]
    previous: dict[str, dict[int, Any]] = {
        kind: _previous_records(kind, [r for _, k, _, r in page if k == kind]) for kind in kinds
    }
    entries = [
        _entry(kind, record, previous[kind].get(record.prev_history_id))
        for _, kind, _, record in page
    ]
    next_cursor = None
    if more and page:
        at, kind, history_id, _ = page[-1]
        next_cursor = cursor_encode([at.isoformat(), kind, history_id], scope=scope)
    return entries, next_cursor
