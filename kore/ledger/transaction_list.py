"""The transaction list: everything about it, in one place.

- **Parameters** (``PARAMS``, ``parse_query``, ``parse_filters``): the one parser of the list's
  query string, used by the API, the web page, the export (request and job) and bulk edits.
  Unknown parameters and reversed ranges are a 400 naming the field.
- **Filters**: ``filter_queryset`` (the ORM) and ``where_sql`` (hand-written SQL, the hot path)
  side by side, one condition after the other; tests hold them to the same rows.
- **Row shape** (``ROW``): declared once. ``row_json`` (Python), ``ROW_JSON`` (PostgreSQL) and
  the documented ``TransactionOutput`` serializer are all generated from it.
- **Reads**: ``page`` (ORM rows as dicts), ``page_json`` (rows encoded by PostgreSQL),
  ``chunks`` (keyset chunks for exports), ``count``, ``get`` and ``running_balances``.
"""

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date
from decimal import Decimal, InvalidOperation
from typing import Any

import iso4217
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast, JSONObject

from kore.core.exceptions import SHAPE_CODES, FieldErrors, InvalidRequest, RuleViolation
from kore.core.fields import ID_MESSAGE, id_parse
from kore.core.money import format_amount
from kore.core.pagination import cursor_decode, cursor_encode, parse_limit
from kore.core.prepared import prepared_cursor
from kore.orgs.models import Organization

from .models import Account, Attachment, Category, Split, Tag, Transaction
from .services.concurrency import etag

# --- Parameters ---------------------------------------------------------------------------------
# ordering name → (column, descending)
ORDERINGS = {
    "-occurred_on": ("occurred_on", True),
    "occurred_on": ("occurred_on", False),
    "-amount": ("amount", True),
    "amount": ("amount", False),
}
DEFAULT_ORDERING = "-occurred_on"


@dataclass(frozen=True)
class TransactionFilter:
    """What the list is narrowed to; None is "not filtered on"."""

    date_from: date | None = None
    date_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    account: int | None = None
    category: int | None = None
    uncategorized: bool | None = None
    status: str | None = None
    tag: str | None = None
    q: str | None = None
    counterparty: str | None = None
    currency: str | None = None
    has_attachments: bool | None = None

    def to_params(self) -> dict[str, str]:
        """The query-string spelling ``parse_filters`` reads back (stored with export jobs)."""
        out: dict[str, str] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None:
                continue
            if isinstance(value, bool):
                out[item.name] = "true" if value else "false"
            elif isinstance(value, date):
                out[item.name] = value.isoformat()
            else:
                out[item.name] = str(value)
        return out


@dataclass(frozen=True)
class ListQuery:
    filters: TransactionFilter
    ordering: str = DEFAULT_ORDERING
    cursor: str | None = None
    limit: int = 50
    running_balance: bool = False


class _Bad(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


_STATUSES = frozenset(Transaction.Status.values)
_CURRENCIES = frozenset(c.code for c in iso4217.Currency)
_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})


def _date(raw: str) -> date:
    try:
        if raw.isascii():
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise _Bad("invalid", "A date as YYYY-MM-DD.")


def _amount(raw: str) -> Decimal:
    try:
        value = Decimal(raw) if raw.isascii() else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise _Bad("invalid", 'A decimal number such as "-12.30".')
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if -exponent > 4 or len(digits) + exponent > 16:
        raise _Bad("invalid", "At most 16 digits before the point and 4 after it.")
    return value


def _id(raw: str) -> int:
    value = id_parse(raw)
    if value is None:
        raise _Bad("invalid_id", ID_MESSAGE)
    return value


def _bool(raw: str) -> bool:
    low = raw.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise _Bad("invalid", "true or false.")


def _status(raw: str) -> str:
    if raw not in _STATUSES:
        raise _Bad("invalid_choice", f"One of: {', '.join(sorted(_STATUSES))}.")
    return raw


def _currency(raw: str) -> str:
    if raw not in _CURRENCIES:
        raise _Bad("invalid", "An ISO 4217 currency code in capitals, e.g. EUR.")
    return raw


def _text(limit: int) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if len(raw) > limit:
            raise _Bad("max_length", f"At most {limit} characters.")
        if "\x00" in raw:
            raise _Bad("invalid", "No NUL characters.")
        return raw

    return parse


@dataclass(frozen=True)
class Param:
    parse: Callable[[str], Any]
    kind: str  # the schema type: date, decimal, integer, boolean, string
    help: str


# Every filter the list takes: the API, the web page, the export and bulk edits read these.
FILTER_PARAMS: dict[str, Param] = {
    "date_from": Param(_date, "date", "On or after this date."),
    "date_to": Param(_date, "date", "On or before this date (not before date_from)."),
    "amount_min": Param(_amount, "decimal", "Amount at least this (signed: -50 is money out)."),
    "amount_max": Param(_amount, "decimal", "Amount at most this (not below amount_min)."),
    "account": Param(_id, "integer", "One account."),
    "category": Param(
        _id, "integer",
        "The row or any of its split lines has this category or one below it.",
    ),
    "uncategorized": Param(
        _bool, "boolean",
        "true: the row (without splits) or a split line has no category; false: the opposite.",
    ),
    "status": Param(_status, "string", "pending, cleared or reconciled."),
    "tag": Param(_text(50), "string", "Has this tag."),
    "q": Param(
        _text(200), "string",
        "Text anywhere in the description, counterparty, notes, reference or a split line's "
        "memo; any case; % and _ literal.",
    ),
    "counterparty": Param(_text(200), "string", "This counterparty exactly, any case."),
    "currency": Param(_currency, "string", "In this currency (ISO 4217)."),
    "has_attachments": Param(_bool, "boolean", "true: has a file attached; false: has none."),
}  # fmt: skip
PAGE_PARAMS = ("ordering", "cursor", "limit", "running_balance")
# Reversed ranges: (low, high) pairs whose high may not be below the low.
_RANGES = (("date_from", "date_to"), ("amount_min", "amount_max"))


_SHAPE = SHAPE_CODES | {"unknown_parameter", "reversed_range", "account_required"}


def _refuse(errors: FieldErrors) -> InvalidRequest | RuleViolation:
    name, first = next(iter(errors.items()))
    message = first[0]["message"]
    codes = {e["code"] for found in errors.values() for e in found}
    if not codes & _SHAPE:  # well-formed values outside what is allowed: a broken rule
        return RuleViolation(
            message if message.startswith(name) else f"{name}: {message}",
            code=first[0]["code"] if len(codes) == 1 else None,
            fields=errors,
        )
    return InvalidRequest(
        message if message.startswith(name) else f"{name}: {message}",
        code=first[0]["code"] if len(errors) == 1 else "invalid_request",
        fields=errors,
    )


def parse_filters(
    params: Mapping[str, Any], *, also: frozenset[str] | tuple[str, ...] = ()
) -> TransactionFilter:
    """The filters in ``params`` (a QueryDict or a dict of text). An empty value is no filter;
    a name that is neither a filter nor in ``also`` is a 400 ``unknown_parameter``."""
    values: dict[str, Any] = {}
    errors: FieldErrors = {}
    for name in params:
        raw = params.get(name)
        spec = FILTER_PARAMS.get(name)
        if spec is None:
            if name not in also:
                errors[name] = [{"code": "unknown_parameter", "message": "Not a parameter here."}]
            continue
        if raw is None or raw == "":
            continue
        if not isinstance(raw, str):
            raw = str(raw).lower() if isinstance(raw, bool) else str(raw)
        try:
            values[name] = spec.parse(raw)
        except _Bad as bad:
            errors[name] = [{"code": bad.code, "message": bad.message}]
    for low, high in _RANGES:
        if low in values and high in values and values[high] < values[low]:
            errors[high] = [{"code": "reversed_range", "message": f"{high} is before {low}."}]
    if errors:
        raise _refuse(errors)
    return TransactionFilter(**values)


def parse_query(
    params: Mapping[str, Any], *, also: tuple[str, ...] = (), paged: bool = True
) -> ListQuery:
    """Filters plus ordering (and, when ``paged``, cursor, limit and running_balance)."""
    page_names = PAGE_PARAMS if paged else ("ordering",)
    filters = parse_filters(params, also=(*page_names, *also))
    ordering = params.get("ordering") or DEFAULT_ORDERING
    if ordering not in ORDERINGS:
        raise _refuse(
            {
                "ordering": [
                    {"code": "invalid_choice", "message": f"One of: {', '.join(ORDERINGS)}."}
                ]
            }
        )
    if not paged:
        return ListQuery(filters=filters, ordering=ordering)
    running = False
    if params.get("running_balance"):
        try:
            running = _bool(params["running_balance"])
        except _Bad as bad:
            raise _refuse(
                {"running_balance": [{"code": bad.code, "message": bad.message}]}
            ) from None
        if running and filters.account is None:
            message = "A running balance needs the list filtered to one account."
            raise _refuse({"running_balance": [{"code": "account_required", "message": message}]})
    return ListQuery(
        filters=filters,
        ordering=ordering,
        cursor=params.get("cursor") or None,
        limit=parse_limit(params.get("limit")),
        running_balance=running,
    )


# --- Filters: the ORM and the SQL, condition by condition ---------------------------------------
T = '"ledger_transaction"'


def category_subtree(*, organization: Organization, category_id: int) -> list[int]:
    """The category and everything below it (the tree is at most three levels): one query."""
    ids = Category.objects.filter(organization=organization).filter(
        Q(pk=category_id) | Q(parent_id=category_id) | Q(parent__parent_id=category_id)
    )
    return list(ids.values_list("pk", flat=True))


_SUBTREE_SQL = (
    'ARRAY(SELECT c."id" FROM "ledger_category" c '
    'LEFT JOIN "ledger_category" p ON p."id" = c."parent_id" '
    'WHERE c."organization_id" = %s AND (c."id" = %s OR c."parent_id" = %s OR p."parent_id" = %s))'
)


def _split_exists(**lookups: Any) -> Exists:
    return Exists(Split.objects.filter(transaction=OuterRef("pk"), **lookups))


def filter_queryset(organization: Organization, f: TransactionFilter) -> QuerySet[Transaction]:
    """The live transactions ``f`` matches (the ORM path; ``where_sql`` is the same in SQL)."""
    qs = Transaction.objects.filter(organization=organization, deleted_at__isnull=True)
    if f.date_from is not None:
        qs = qs.filter(occurred_on__gte=f.date_from)
    if f.date_to is not None:
        qs = qs.filter(occurred_on__lte=f.date_to)
    if f.amount_min is not None:
        qs = qs.filter(amount__gte=f.amount_min)
    if f.amount_max is not None:
        qs = qs.filter(amount__lte=f.amount_max)
    if f.account is not None:
        qs = qs.filter(account_id=f.account)
    if f.currency is not None:
        qs = qs.filter(currency=f.currency)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.category is not None:
        ids = category_subtree(organization=organization, category_id=f.category)
        qs = qs.filter(Q(category_id__in=ids) | _split_exists(category_id__in=ids))
    if f.uncategorized is not None:
        # Not ``has_splits``: only PostgreSQL's triggers keep it (SQL below may use it).
        none = (Q(category__isnull=True) & ~_split_exists()) | _split_exists(category__isnull=True)
        qs = qs.filter(none if f.uncategorized else ~none)
    if f.tag:
        qs = qs.filter(
            Exists(
                Transaction.tags.through.objects.filter(
                    transaction_id=OuterRef("pk"),
                    tag__organization=organization,
                    tag__name=f.tag,
                )
            )
        )
    if f.q:
        qs = qs.filter(
            Q(description__ilike_contains=f.q)
            | Q(counterparty__ilike_contains=f.q)
            | Q(notes__ilike_contains=f.q)
            | Q(reference__ilike_contains=f.q)
            | _split_exists(memo__ilike_contains=f.q)
        )
    if f.counterparty:
        qs = qs.filter(counterparty__iexact=f.counterparty)
    if f.has_attachments is not None:
        attached = Exists(Attachment.objects.filter(transaction=OuterRef("pk")))
        qs = qs.filter(attached if f.has_attachments else ~attached)
    return qs


def where_sql(organization: Organization, f: TransactionFilter) -> tuple[list[str], list[Any]]:
    """``filter_queryset`` as SQL conditions on the transaction table (the list's hot path).

    The category's subtree is an ``ANY(ARRAY(…))`` init plan, so it costs no extra round trip
    and the planner keeps walking the (organisation, date) index; split lines are looked at
    only on rows flagged ``has_splits``. Tags use EXISTS, which cannot repeat a row.
    """
    where = [f'{T}."organization_id" = %s', f'{T}."deleted_at" IS NULL']
    params: list[Any] = [organization.pk]
    for value, condition in (
        (f.date_from, f'{T}."occurred_on" >= %s'),
        (f.date_to, f'{T}."occurred_on" <= %s'),
        (f.amount_min, f'{T}."amount" >= %s'),
        (f.amount_max, f'{T}."amount" <= %s'),
        (f.account, f'{T}."account_id" = %s'),
        (f.currency, f'{T}."currency" = %s'),
        (f.status or None, f'{T}."status" = %s'),
    ):
        if value is not None:
            where.append(condition)
            params.append(value)
    if f.category is not None:
        # OFFSET 0 keeps the split lines' EXISTS a probe of the rows the page walks: without it
        # the planner may hash every split line of the subtree, in the whole organisation, on
        # every request (a cost that grows with the books, not with the page).
        where.append(
            f'({T}."category_id" = ANY({_SUBTREE_SQL}) OR ({T}."has_splits" AND EXISTS ('  # noqa: S608 - fixed SQL
            f'SELECT 1 FROM "ledger_split" s WHERE s."transaction_id" = {T}."id" '
            f'AND s."category_id" = ANY({_SUBTREE_SQL}) OFFSET 0)))'
        )
        subtree = [organization.pk, f.category, f.category, f.category]
        params += subtree + subtree
    if f.uncategorized is not None:
        none = (
            f'(({T}."category_id" IS NULL AND NOT {T}."has_splits") OR ({T}."has_splits" AND '  # noqa: S608 - fixed SQL
            f'EXISTS (SELECT 1 FROM "ledger_split" s WHERE s."transaction_id" = {T}."id" '
            'AND s."category_id" IS NULL)))'
        )
        where.append(none if f.uncategorized else f"NOT {none}")
    if f.tag:
        where.append(
            'EXISTS (SELECT 1 FROM "ledger_transaction_tags" tt JOIN "ledger_tag" g '  # noqa: S608 - fixed SQL
            f'ON g."id" = tt."tag_id" WHERE tt."transaction_id" = {T}."id" '
            'AND g."organization_id" = %s AND g."name" = %s)'
        )
        params += [organization.pk, f.tag]
    if f.q:
        # The ilike_contains lookup (kore.ledger.lookups), which the trigram indexes serve.
        where.append(
            f'({T}."description" ILIKE %s OR {T}."counterparty" ILIKE %s OR {T}."notes" ILIKE %s '  # noqa: S608 - fixed SQL
            f'OR {T}."reference" ILIKE %s OR ({T}."has_splits" AND EXISTS (SELECT 1 FROM '
            f'"ledger_split" s WHERE s."transaction_id" = {T}."id" AND s."memo" ILIKE %s)))'
        )
        params += [f"%{connection.ops.prep_for_like_query(f.q)}%"] * 5
    if f.counterparty:
        where.append(f'UPPER({T}."counterparty"::text) = UPPER(%s)')  # Django's iexact
        params.append(f.counterparty)
    if f.has_attachments is not None:
        attached = (
            f'EXISTS (SELECT 1 FROM "ledger_attachment" a WHERE a."transaction_id" = {T}."id")'  # noqa: S608 - fixed SQL
        )
        where.append(attached if f.has_attachments else f"NOT {attached}")
    return where, params


# --- The row shape, declared once ---------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    name: str  # on the wire
    source: str  # the row dict's key and the table's column
    # int, ref, date, money, original_money, text, choice, json, tags, splits, timestamp, etag
    kind: str
    help: str = ""


ROW: tuple[Column, ...] = (
    Column("id", "id", "int"),
    Column("account", "account_id", "ref"),
    Column("occurred_on", "occurred_on", "date"),
    Column("amount", "amount", "money", 'Decimal string with the currency\'s decimals: "-12.30".'),
    Column("currency", "currency", "text"),
    Column("description", "description", "text"),
    Column("counterparty", "counterparty", "text"),
    Column("payee", "payee_id", "ref", "The counterparty's payee (kore.payees), or null."),
    Column("category", "category_id", "ref"),
    Column("tags", "tags", "tags"),
    Column("reference", "reference", "text"),
    Column("notes", "notes", "text"),
    Column("metadata", "metadata", "json"),
    Column("status", "status", "choice"),
    Column(
        "bank_state",
        "bank_state",
        "text",
        "What the bank said of an imported row: booked, or pending (a later booked row replaces "
        "it); empty for rows entered by hand. Apart from the reconciliation status.",
    ),
    Column("bank_id", "bank_id", "text", "The bank's own id of the row, when it gave one."),
    Column(
        "original_amount",
        "original_amount",
        "original_money",
        "The amount the bank also stated in another currency (original_currency), or null.",
    ),
    Column("original_currency", "original_currency", "text"),
    Column("splits", "splits", "splits"),
    Column("transfer", "transfer_id", "ref"),
    Column("statement", "statement_id", "ref"),
    Column("created_by", "created_by_id", "ref"),
    Column("created_by_token", "created_by_token_id", "ref"),
    Column("created_at", "created_at", "timestamp"),
    Column("updated_at", "updated_at", "timestamp"),
    Column("version", "version", "int"),
    Column("etag", "etag", "etag", "The If-Match value for a change."),
)
# What a page reads from the table (tags and splits come from their own tables).
TX_FIELDS = tuple(c.source for c in ROW if c.kind not in ("tags", "splits", "etag"))
RUNNING_BALANCE_HELP = (
    "With running_balance=true (list filtered to one account): the account's balance after "
    "this row, counting every live row of the account up to it by date, then id."
)


def _iso(value: Any) -> str:
    """UTC with microseconds and a Z, as PostgreSQL renders it on the list's hot path."""
    return str(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def row_json(row: dict[str, Any]) -> dict[str, Any]:
    """A row from ``page``/``get`` in the ``ROW`` shape (what ``ROW_JSON`` renders in SQL)."""
    currency = row["currency"]
    out: dict[str, Any] = {}
    for c in ROW:
        if c.kind == "money":
            out[c.name] = format_amount(row[c.source], currency)
        elif c.kind == "original_money":
            value = row[c.source]
            out[c.name] = None if value is None else format_amount(value, row["original_currency"])
        elif c.kind == "date":
            out[c.name] = row[c.source].isoformat()
        elif c.kind == "timestamp":
            out[c.name] = _iso(row[c.source])
        elif c.kind == "splits":
            out[c.name] = [
                {
                    "category": s["category_id"],
                    "amount": format_amount(s["amount"], currency),
                    "memo": s["memo"],
                }
                for s in row["splits"]
            ]
        elif c.kind == "etag":
            out[c.name] = etag(row["id"], row["version"])
        else:
            out[c.name] = row[c.source]
    if "running_balance" in row:
        out["running_balance"] = format_amount(row["running_balance"], currency)
    return out


# Every ISO 4217 currency with minor units, as a JSON literal in the statement's text: PostgreSQL
# folds its cast once when planning (as a parameter, a reused generic plan would parse it again
# for every row, and each request would send it once per use).
_PLACES_JSONB = "'%s'::jsonb" % json.dumps(  # noqa: UP031 - the JSON holds no quote
    {c.code: c.exponent for c in iso4217.Currency if c.exponent is not None}, sort_keys=True
)
_PLACES = f'({_PLACES_JSONB} ->> {T}."currency")::int'
_TIMESTAMP = """to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
_SQL_OF_KIND: dict[str, Callable[[str], str]] = {
    "money": lambda col: f'round({T}."{col}", {_PLACES})::text',
    "original_money": lambda col: (
        f'round({T}."{col}", ({_PLACES_JSONB} ->> {T}."original_currency")::int)::text'
    ),
    "timestamp": lambda col: _TIMESTAMP.format(col=f'{T}."{col}"'),
    "tags": lambda col: (
        f'CASE WHEN {T}."has_tags" THEN COALESCE((SELECT json_agg(g."name" ORDER BY g."name") '  # noqa: S608 - fixed SQL
        'FROM "ledger_transaction_tags" tt JOIN "ledger_tag" g ON g."id" = tt."tag_id" '
        f"WHERE tt.\"transaction_id\" = {T}.\"id\"), '[]'::json) ELSE '[]'::json END"
    ),
    "splits": lambda col: (
        f'CASE WHEN {T}."has_splits" THEN COALESCE((SELECT json_agg(json_build_object('  # noqa: S608 - fixed SQL
        f"'category', s.\"category_id\", 'amount', round(s.\"amount\", {_PLACES})::text, "
        '\'memo\', s."memo") ORDER BY s."position", s."id") '
        f'FROM "ledger_split" s WHERE s."transaction_id" = {T}."id"), \'[]\'::json) '
        "ELSE '[]'::json END"
    ),
    # concurrency.etag in SQL
    "etag": lambda col: f"'\"' || {T}.\"id\" || '-' || {T}.\"version\" || '\"'",
}


def _row_json_sql() -> str:
    parts = []
    for c in ROW:
        render = _SQL_OF_KIND.get(c.kind)
        value = render(c.source) if render else T + f'."{c.source}"'
        parts.append(f"'{c.name}', {value}")
    return "json_build_object(" + ", ".join(parts) + ")::text"


# Each row as the API's JSON, encoded by PostgreSQL (no parameters).
ROW_JSON = _row_json_sql()


# --- Reads --------------------------------------------------------------------------------------
def _scope(organization: Organization, ordering: str) -> str:
    return f"tx:{organization.pk}:{ordering}"


def _bounded(
    organization: Organization, filters: TransactionFilter, ordering: str, cursor: str | None
) -> QuerySet[Transaction]:
    """The filtered queryset after ``cursor``, in ``ordering`` (ties by id)."""
    column, descending = ORDERINGS[ordering]
    qs = filter_queryset(organization, filters)
    if cursor:
        last_value, last_id = cursor_decode(cursor, scope=_scope(organization, ordering))
        table = Transaction._meta.db_table
        # The row-value form is an index bound; an OR of two conditions is only a filter.
        qs = qs.extra(  # noqa: S610 - fixed SQL, values are parameters
            where=[f'("{table}"."{column}", "{table}"."id") {"<" if descending else ">"} (%s, %s)'],
            params=[last_value, last_id],
        )
    order = [f"-{column}", "-id"] if descending else [column, "id"]
    return qs.order_by(*order)


def _next_cursor(organization: Organization, ordering: str, last: tuple[Any, int]) -> str:
    value, last_id = last
    key = value.isoformat() if isinstance(value, date) else str(value)
    return cursor_encode([key, last_id], scope=_scope(organization, ordering))


def page(
    *,
    organization: Organization,
    filters: TransactionFilter,
    ordering: str = DEFAULT_ORDERING,
    cursor: str | None = None,
    limit: int = 50,
    running_balance: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page as dicts (``TX_FIELDS`` plus tags and splits) and the next page's cursor."""
    column, _ = ORDERINGS[ordering]
    qs = _bounded(organization, filters, ordering, cursor)
    rows = transaction_rows(qs, *TX_FIELDS, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    if running_balance and filters.account is not None:
        balances = running_balances(account_id=filters.account, ids=[r["id"] for r in rows])
        for row in rows:
            row["running_balance"] = balances[row["id"]]
    if not more or not rows:
        return rows, None
    return rows, _next_cursor(organization, ordering, (rows[-1][column], rows[-1]["id"]))


def page_json(
    *,
    organization: Organization,
    filters: TransactionFilter,
    ordering: str = DEFAULT_ORDERING,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[str], str | None]:
    """``page`` with each row already JSON-encoded by PostgreSQL: one hand-written query that
    skips the ORM's per-request SQL compilation (tests hold it equal to ``page``)."""
    column, descending = ORDERINGS[ordering]
    where, params = where_sql(organization, filters)
    if cursor:
        last_value, last_id = cursor_decode(cursor, scope=_scope(organization, ordering))
        where.append(f'({T}."{column}", {T}."id") {"<" if descending else ">"} (%s, %s)')
        params += [last_value, last_id]
    direction = "DESC" if descending else "ASC"
    sql = (
        f'SELECT {ROW_JSON}, {T}."{column}", {T}."id" FROM {T} '  # noqa: S608 - fixed SQL
        f'WHERE {" AND ".join(where)} ORDER BY {T}."{column}" {direction}, {T}."id" {direction} '
        "LIMIT %s"
    )
    with prepared_cursor() as db:  # planned once per connection and statement shape
        db.execute(sql, [*params, limit + 1])
        rows = db.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    if not more or not rows:
        return [row[0] for row in rows], None
    return [row[0] for row in rows], _next_cursor(
        organization, ordering, (rows[-1][1], rows[-1][2])
    )


def page_ids_sql(
    *, organization: Organization, filters: TransactionFilter, ordering: str, limit: int
) -> list[int]:
    """The ids ``where_sql`` selects, in order (PostgreSQL: the SQL path, for tests and checks)."""
    column, descending = ORDERINGS[ordering]
    where, params = where_sql(organization, filters)
    direction = "DESC" if descending else "ASC"
    sql = (
        f'SELECT {T}."id" FROM {T} WHERE {" AND ".join(where)} '  # noqa: S608 - fixed SQL
        f'ORDER BY {T}."{column}" {direction}, {T}."id" {direction} LIMIT %s'
    )
    with connection.cursor() as db:
        db.execute(sql, [*params, limit])
        return [row[0] for row in db.fetchall()]


def chunks(
    *,
    organization: Organization,
    filters: TransactionFilter,
    ordering: str = DEFAULT_ORDERING,
    size: int = 2000,
    fields: tuple[str, ...] = TX_FIELDS,
) -> Iterator[list[dict[str, Any]]]:
    """Every matching row in ``ordering``, ``size`` at a time: each chunk is one keyset-bounded
    query (never a server-side cursor, which PgBouncer in transaction mode forbids)."""
    column, _ = ORDERINGS[ordering]
    wanted = tuple(dict.fromkeys(("id", column, *fields)))
    cursor: str | None = None
    while True:
        qs = _bounded(organization, filters, ordering, cursor)
        rows = transaction_rows(qs, *wanted, limit=size)
        if rows:
            yield rows
        if len(rows) < size:
            return
        cursor = _next_cursor(organization, ordering, (rows[-1][column], rows[-1]["id"]))


def count(*, organization: Organization, filters: TransactionFilter, at_most: int) -> int:
    """How many rows match, counting no further than ``at_most``."""
    qs = filter_queryset(organization, filters).order_by()
    return qs.values("id")[:at_most].count()


def get(*, organization: Organization, tx_id: int) -> dict[str, Any] | None:
    """One live transaction as ``page`` renders it."""
    live = Transaction.objects.filter(organization=organization, pk=tx_id, deleted_at__isnull=True)
    rows = transaction_rows(live, *TX_FIELDS)
    return rows[0] if rows else None


def running_balances(*, account_id: int, ids: list[int]) -> dict[int, Decimal]:
    """The account's balance after each of ``ids``: opening balance plus every live row of the
    account up to it (by date, then id), whatever the page's other filters or ordering."""
    if not ids:
        return {}
    opening = Account.objects.filter(pk=account_id).values_list("opening_balance", flat=True)
    base = opening.first() or Decimal(0)
    last = Transaction.objects.filter(pk__in=ids).order_by("-occurred_on", "-id")
    upto = last.values_list("occurred_on", "id").first()
    assert upto is not None
    wanted = set(ids)
    if connection.vendor == "postgresql":
        # One query: the sum runs along the account's keyset index up to the page's last row.
        sql = (
            'SELECT "id", "running" FROM (SELECT "id", SUM("amount") OVER '
            '(ORDER BY "occurred_on", "id") AS "running" FROM "ledger_transaction" '
            'WHERE "account_id" = %s AND "deleted_at" IS NULL AND ("occurred_on", "id") <= (%s, %s)'
            ') s WHERE "id" = ANY(%s)'
        )
        with connection.cursor() as db:
            db.execute(sql, [account_id, upto[0], upto[1], list(wanted)])
            return {pk: base + total for pk, total in db.fetchall()}
    # SQLite keeps decimals as floating point: add them up here, exactly.
    live = Transaction.objects.filter(account_id=account_id, deleted_at__isnull=True).filter(
        Q(occurred_on__lt=upto[0]) | Q(occurred_on=upto[0], id__lte=upto[1])
    )
    out: dict[int, Decimal] = {}
    total = base
    for pk, amount in live.order_by("occurred_on", "id").values_list("id", "amount").iterator():
        total += amount
        if pk in wanted:
            out[pk] = total
    return out


def transaction_rows(
    qs: QuerySet[Transaction], *fields: str, limit: int | None = None
) -> list[dict[str, Any]]:
    """Evaluate ``qs`` (ordered, at most ``limit`` rows) into dicts with tags and splits.

    On PostgreSQL the tags and splits come back in the same query as array subqueries (one
    round trip per page); elsewhere two more queries fetch them for the whole page.
    """
    if connection.vendor != "postgresql":
        rows = list(qs.values(*fields)[:limit])
        _attach_tags_and_splits(rows)
        return rows
    tags = ArraySubquery(
        Tag.objects.filter(transactions=OuterRef("pk")).order_by("name").values("name")
    )
    splits = ArraySubquery(
        Split.objects.filter(transaction=OuterRef("pk"))
        .order_by("position", "id")
        .values(
            json=JSONObject(
                category_id="category_id",
                amount=Cast("amount", TextField()),  # text: a JSON number would become a float
                memo="memo",
            )
        )
    )
    annotated = qs.annotate(tag_list=tags, split_list=splits)
    rows = list(annotated.values(*fields, "tag_list", "split_list")[:limit])
    for row in rows:
        row["tags"] = row.pop("tag_list")
        row["splits"] = [
            {"category_id": s["category_id"], "amount": Decimal(s["amount"]), "memo": s["memo"]}
            for s in row.pop("split_list")
        ]
    return rows


def _attach_tags_and_splits(rows: list[dict[str, Any]]) -> None:
    ids = [row["id"] for row in rows]
    tags: dict[int, list[str]] = {i: [] for i in ids}
    splits: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        through = Transaction.tags.through.objects.filter(transaction_id__in=ids)
        for tx_id, name in through.values_list("transaction_id", "tag__name").order_by("tag__name"):
            tags[tx_id].append(name)
        for split in Split.objects.filter(transaction_id__in=ids).values(
            "transaction_id", "category_id", "amount", "memo"
        ).order_by("transaction_id", "position", "id"):  # fmt: skip
            item: dict[str, Any] = dict(split)
            splits[item.pop("transaction_id")].append(item)
    for row in rows:
        row["tags"] = tags[row["id"]]
        row["splits"] = splits[row["id"]]
