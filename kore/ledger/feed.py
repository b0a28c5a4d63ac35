"""The change feed: what changed in an organisation's transactions since a cursor.

Change numbers come from ``LedgerState.version``; writers of one organisation serialise on that
row, so numbers commit in order and reading ``(change_seq, id) > cursor`` never skips a row.
"""

from typing import Any

from kore.core.exceptions import KoreError
from kore.core.pagination import cursor_decode, cursor_encode
from kore.orgs.models import Organization

from .models import LedgerState, Transaction
from .transaction_list import TX_FIELDS, transaction_rows


class CursorExpired(KoreError):
    status_code = 410
    code = "cursor_expired"
    message = "The cursor is older than the deletion history kept (30 days); sync from scratch."


def transaction_changes(
    *, organization: Organization, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str, bool]:
    """Rows changed after ``cursor`` (live and deleted), the next cursor and whether more wait."""
    scope = f"changes:{organization.pk}"
    last_seq, last_id = cursor_decode(cursor, scope=scope) if cursor else (0, 0)
    if not isinstance(last_seq, int) or not isinstance(last_id, int):
        last_seq, last_id = 0, 0
    purged = (
        LedgerState.objects.filter(organization=organization)
        .values_list("purged_through", flat=True)
        .first()
        or 0
    )
    if cursor and last_seq < purged:
        raise CursorExpired()
    table = Transaction._meta.db_table
    rows = transaction_rows(
        Transaction.objects.filter(organization=organization)
        .extra(  # noqa: S610 - fixed SQL; the row-value bound uses the (org, change_seq) index
            where=[f'("{table}"."change_seq", "{table}"."id") > (%s, %s)'],
            params=[last_seq, last_id],
        )
        .order_by("change_seq", "id"),
        *TX_FIELDS,
        "change_seq",
        "deleted_at",
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    if rows:
        last_seq, last_id = rows[-1]["change_seq"], rows[-1]["id"]
    return rows, cursor_encode([last_seq, last_id], scope=scope), more
