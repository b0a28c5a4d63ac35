"""Reading an organisation's exchange rates."""

from datetime import date
from typing import Any

from django.db.models import Q, QuerySet

from kore.core.pagination import cursor_decode, cursor_encode
from kore.orgs.models import Organization

from .models import ExchangeRate


def exchange_rate_list(
    *,
    organization: Organization,
    base: str | None = None,
    quote: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[ExchangeRate]:
    """The organisation's rates, newest day first, optionally one pair's or a range's."""
    rows = ExchangeRate.objects.filter(organization=organization)
    if base:
        rows = rows.filter(base=base)
    if quote:
        rows = rows.filter(quote=quote)
    if date_from:
        rows = rows.filter(date__gte=date_from)
    if date_to:
        rows = rows.filter(date__lte=date_to)
    return rows.order_by("-date", "-id")


def exchange_rate_page(
    *, organization: Organization, cursor: str | None, limit: int, **filters: Any
) -> tuple[list[ExchangeRate], str | None]:
    """One keyset page of ``exchange_rate_list`` and the cursor of the next one."""
    scope = f"fx-rates:{organization.pk}"
    rows = exchange_rate_list(organization=organization, **filters)
    if cursor:
        last_date, last_id = cursor_decode(cursor, scope=scope)
        day = date.fromisoformat(str(last_date))
        rows = rows.filter(Q(date__lt=day) | Q(date=day, id__lt=int(last_id)))
    page = list(rows[: limit + 1])
    if len(page) <= limit:
        return page, None
    page = page[:limit]
    return page, cursor_encode([page[-1].date.isoformat(), page[-1].pk], scope=scope)
