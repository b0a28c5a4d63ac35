"""Reads of transfers: each with its two live legs, as the transaction list renders them."""

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from kore.core.money import format_amount
from kore.core.pagination import cursor_decode, cursor_encode
from kore.orgs.models import Organization

from ..models import Transaction, Transfer
from ..services.concurrency import etag_for
from ..transaction_list import TX_FIELDS, _iso, row_json, transaction_rows

SCOPE = "transfers"


def _live(organization: Organization) -> QuerySet[Transfer]:
    legs = Transaction.objects.filter(transfer=OuterRef("pk"), deleted_at__isnull=True)
    return Transfer.objects.filter(Exists(legs), organization=organization)


def _render(transfers: list[Transfer]) -> list[dict[str, Any]]:
    """One query for every leg of the page (two more off PostgreSQL for tags and splits)."""
    legs: dict[int, list[dict[str, Any]]] = {}
    rows = transaction_rows(
        Transaction.objects.filter(
            transfer_id__in=[t.pk for t in transfers], deleted_at__isnull=True
        ).order_by("amount", "id"),
        *TX_FIELDS,
    )
    for row in rows:
        legs.setdefault(row["transfer_id"], []).append(row)
    out = []
    for transfer in transfers:
        pair = legs.get(transfer.pk, [])
        if len(pair) != 2:
            continue  # a leg was deleted while this page was read
        source, target = pair
        out.append(
            {
                "id": transfer.pk,
                "from_account": source["account_id"],
                "to_account": target["account_id"],
                "amount": format_amount(-source["amount"], source["currency"]),
                "to_amount": format_amount(target["amount"], target["currency"]),
                "rate": format(transfer.rate.normalize(), "f"),  # never "1E+2"
                "occurred_on": source["occurred_on"].isoformat(),
                "description": source["description"],
                "version": transfer.version,
                "etag": etag_for(transfer),
                "created_at": _iso(transfer.created_at),
                "legs": [row_json(row) for row in pair],
            }
        )
    return out


def transfer_get(*, organization: Organization, transfer_id: int) -> dict[str, Any] | None:
    found = list(_live(organization).filter(pk=transfer_id))
    rendered = _render(found)
    return rendered[0] if rendered else None


def transfer_page(
    *, organization: Organization, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first, keyset-paginated by id."""
    qs = _live(organization).order_by("-id")
    if cursor:
        values = cursor_decode(cursor, scope=f"{SCOPE}:{organization.pk}")
        if len(values) != 1 or not isinstance(values[0], int):
            cursor_decode("", scope=SCOPE)  # raises invalid_cursor
        qs = qs.filter(pk__lt=values[0])
    page = list(qs[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    next_cursor = cursor_encode([page[-1].pk], scope=f"{SCOPE}:{organization.pk}") if more else None
    return _render(page), next_cursor
