"""Ledger reads, always within one organisation."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast, JSONObject

from kore.core.pagination import cursor_decode, cursor_encode
from kore.orgs.models import Organization

from .json_sql import ROW_JSON, T, places_param
from .models import Account, Category, Split, Statement, Tag, Transaction

# ordering name → (column, descending)
ORDERINGS = {
    "-occurred_on": ("occurred_on", True),
    "occurred_on": ("occurred_on", False),
    "-amount": ("amount", True),
    "amount": ("amount", False),
}
TX_FIELDS = (
    "id", "account_id", "occurred_on", "amount", "currency", "description", "counterparty",
    "category_id", "reference", "notes", "metadata", "status", "transfer_id", "statement_id",
    "created_by_id", "created_by_token_id", "created_at", "updated_at", "version",
)  # fmt: skip


@dataclass(frozen=True)
class TransactionFilter:
    date_from: date | None = None
    date_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    account: int | None = None
    category: int | None = None
    status: str | None = None
    tag: str | None = None
    q: str | None = None


def account_list(*, organization: Organization) -> QuerySet[Account]:
    return Account.objects.filter(organization=organization).order_by("name", "id")


def account_get(*, organization: Organization, account_id: int) -> Account | None:
    return Account.objects.filter(organization=organization, pk=account_id).first()


def category_list(*, organization: Organization) -> QuerySet[Category]:
    return Category.objects.filter(organization=organization).order_by("depth", "name", "id")


def category_get(*, organization: Organization, category_id: int) -> Category | None:
    return Category.objects.filter(organization=organization, pk=category_id).first()


def category_with_descendants(*, organization: Organization, category_id: int) -> list[int]:
    """The category and everything below it (the tree is at most three levels): one query."""
    ids = Category.objects.filter(organization=organization).filter(
        Q(pk=category_id) | Q(parent_id=category_id) | Q(parent__parent_id=category_id)
    )
    return list(ids.values_list("pk", flat=True))


def statement_list(*, organization: Organization) -> QuerySet[Statement]:
    return Statement.objects.filter(organization=organization).order_by("-end_date", "-id")


def statement_get(*, organization: Organization, statement_id: int) -> Statement | None:
    return Statement.objects.filter(organization=organization, pk=statement_id).first()


def _filtered(organization: Organization, f: TransactionFilter) -> QuerySet[Transaction]:
    qs = Transaction.objects.filter(organization=organization, deleted_at__isnull=True)
    if f.date_from is not None:
        qs = qs.filter(occurred_on__gte=f.date_from)
    if f.date_to is not None:
        qs = qs.filter(occurred_on__lte=f.date_to)
    if f.amount_min is not None:
        qs = qs.filter(amount__gte=f.amount_min)
    if f.amount_max is not None:
        qs = qs.filter(amount__lte=f.amount_max)
    if f.account is not None:  # 0 is a value: it matches nothing
        qs = qs.filter(account_id=f.account)
    if f.category is not None:
        ids = category_with_descendants(organization=organization, category_id=f.category)
        qs = qs.filter(category_id__in=ids)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.tag:
        qs = qs.filter(tags__organization=organization, tags__name=f.tag)
    if f.q:
        qs = qs.filter(Q(description__ilike_contains=f.q) | Q(counterparty__ilike_contains=f.q))
    return qs


def _page_query(
    organization: Organization, filters: TransactionFilter, ordering: str, cursor: str | None
) -> tuple[QuerySet[Transaction], str, str]:
    """The filtered, keyset-bounded, ordered queryset; its sort column and cursor scope."""
    column, descending = ORDERINGS[ordering]
    scope = f"tx:{organization.pk}:{ordering}"
    qs = _filtered(organization, filters)
    if cursor:
        last_value, last_id = cursor_decode(cursor, scope=scope)
        op = "<" if descending else ">"
        table = Transaction._meta.db_table
        # The row-value form is an index bound; an OR of two conditions is only a filter.
        qs = qs.extra(  # noqa: S610 - fixed SQL, values are parameters
            where=[f'("{table}"."{column}", "{table}"."id") {op} (%s, %s)'],
            params=[last_value, last_id],
        )
    order = [f"-{column}", "-id"] if descending else [column, "id"]
    return qs.order_by(*order), column, scope


def _next_cursor(more: bool, last: tuple[Any, int] | None, scope: str) -> str | None:
    if not more or last is None:
        return None
    value, last_id = last
    key = value.isoformat() if isinstance(value, date) else str(value)
    return cursor_encode([key, last_id], scope=scope)


def transaction_page(
    *,
    organization: Organization,
    filters: TransactionFilter,
    ordering: str = "-occurred_on",
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of transactions as plain dicts (tags and splits attached) and the next cursor."""
    qs, column, scope = _page_query(organization, filters, ordering, cursor)
    rows = transaction_rows(qs, *TX_FIELDS, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    last = (rows[-1][column], rows[-1]["id"]) if rows else None
    return rows, _next_cursor(more, last, scope)


def _where_sql(organization: Organization, f: TransactionFilter) -> tuple[list[str], list[Any]]:
    """``_filtered`` as SQL conditions on the transaction table (the list's hot path).

    The category's subtree is an ``ANY(ARRAY(…))`` init plan, so it costs no extra round trip and
    the planner keeps walking the (organisation, date) index. Tags use EXISTS, which cannot repeat
    a row.
    """
    where = [f'{T}."organization_id" = %s', f'{T}."deleted_at" IS NULL']
    params: list[Any] = [organization.pk]
    for value, condition in (
        (f.date_from, f'{T}."occurred_on" >= %s'),
        (f.date_to, f'{T}."occurred_on" <= %s'),
        (f.amount_min, f'{T}."amount" >= %s'),
        (f.amount_max, f'{T}."amount" <= %s'),
        (f.account, f'{T}."account_id" = %s'),  # 0 is a value: it matches nothing
        (f.status or None, f'{T}."status" = %s'),
    ):
        if value is not None:
            where.append(condition)
            params.append(value)
    if f.category is not None:
        where.append(
            f'{T}."category_id" = ANY(ARRAY(SELECT c."id" FROM "ledger_category" c '  # noqa: S608
            'LEFT JOIN "ledger_category" p ON p."id" = c."parent_id" '
            'WHERE c."organization_id" = %s AND (c."id" = %s OR c."parent_id" = %s '
            'OR p."parent_id" = %s)))'
        )
        params += [organization.pk, f.category, f.category, f.category]
    if f.tag:
        where.append(
            'EXISTS (SELECT 1 FROM "ledger_transaction_tags" tt JOIN "ledger_tag" g '  # noqa: S608
            f'ON g."id" = tt."tag_id" WHERE tt."transaction_id" = {T}."id" '
            'AND g."organization_id" = %s AND g."name" = %s)'
        )
        params += [organization.pk, f.tag]
    if f.q:
        # The ilike_contains lookup (kore.ledger.lookups), which the trigram indexes serve.
        where.append(f'({T}."description" ILIKE %s OR {T}."counterparty" ILIKE %s)')
        like = f"%{connection.ops.prep_for_like_query(f.q)}%"
        params += [like, like]
    return where, params


def transaction_page_json(
    *,
    organization: Organization,
    filters: TransactionFilter,
    ordering: str = "-occurred_on",
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[str], str | None]:
    """The same page with each row already JSON-encoded by PostgreSQL: one hand-written query.

    It runs on every list request, so it skips the ORM's per-request SQL compilation; the rows
    and order are ``_page_query``'s (a test holds the two equal).
    """
    column, descending = ORDERINGS[ordering]
    scope = f"tx:{organization.pk}:{ordering}"
    where, params = _where_sql(organization, filters)
    if cursor:
        last_value, last_id = cursor_decode(cursor, scope=scope)
        where.append(f'({T}."{column}", {T}."id") {"<" if descending else ">"} (%s, %s)')
        params += [last_value, last_id]
    direction = "DESC" if descending else "ASC"
    sql = (
        f'SELECT {ROW_JSON}, {T}."{column}", {T}."id" FROM {T} '  # noqa: S608 - fixed SQL
        f'WHERE {" AND ".join(where)} ORDER BY {T}."{column}" {direction}, {T}."id" {direction} '
        "LIMIT %s"
    )
    places = places_param()
    with connection.cursor() as db:
        db.execute(sql, [places, places, *params, limit + 1])
        rows = db.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    last = (rows[-1][1], rows[-1][2]) if rows else None
    return [row[0] for row in rows], _next_cursor(more, last, scope)


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


def transaction_get(*, organization: Organization, tx_id: int) -> dict[str, Any] | None:
    live = Transaction.objects.filter(organization=organization, pk=tx_id, deleted_at__isnull=True)
    rows = transaction_rows(live, *TX_FIELDS)
    return rows[0] if rows else None


def tag_list(*, organization: Organization) -> QuerySet[Tag]:
    return Tag.objects.filter(organization=organization).order_by("name")
