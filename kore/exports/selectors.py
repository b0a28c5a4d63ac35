"""Reads for exports: the list's filters, walked in keyset chunks (never a server-side cursor:
PgBouncer in transaction mode forbids them), so memory stays flat whatever the row count."""

from collections.abc import Iterator
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import OuterRef

from kore.ledger import selectors as ledger
from kore.ledger.models import Tag
from kore.orgs.models import Organization

from .models import ExportJob

CHUNK_ROWS = 2000
EXPORT_FIELDS = (
    "id", "occurred_on", "account__name", "amount", "currency", "description", "counterparty",
    "category__name", "reference", "notes", "status",
)  # fmt: skip


def _chunk(qs: Any, limit: int) -> list[dict[str, Any]]:
    if connection.vendor != "postgresql":
        rows = ledger.transaction_rows(qs, *EXPORT_FIELDS, limit=limit)
        for row in rows:
            row.pop("splits", None)
        return rows
    tags = ArraySubquery(
        Tag.objects.filter(transactions=OuterRef("pk")).order_by("name").values("name")
    )
    rows = list(qs.annotate(tag_list=tags).values(*EXPORT_FIELDS, "tag_list")[:limit])
    for row in rows:
        row["tags"] = row.pop("tag_list")
    return rows


def export_chunks(
    *,
    organization: Organization,
    filters: ledger.TransactionFilter,
    ordering: str = "-occurred_on",
    chunk_rows: int | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """The filtered transactions in ``ordering`` (ties by id), ``chunk_rows`` at a time.

    Each chunk is one query bounded by the previous chunk's last (sort value, id)."""
    size = chunk_rows or CHUNK_ROWS
    cursor: str | None = None
    while True:
        qs, column, scope = ledger._page_query(organization, filters, ordering, cursor)
        rows = _chunk(qs, size)
        if rows:
            yield rows
        if len(rows) < size:
            return
        last = rows[-1]
        cursor = ledger._next_cursor(True, (last[column], last["id"]), scope)


def export_count(
    *, organization: Organization, filters: ledger.TransactionFilter, at_most: int
) -> int:
    """How many rows the export has, counting no further than ``at_most``."""
    qs = ledger._filtered(organization, filters).order_by()
    return qs.values("id")[:at_most].count()


def export_job_get(*, organization: Organization, job_id: int) -> ExportJob | None:
    return ExportJob.objects.filter(organization=organization, pk=job_id).first()
