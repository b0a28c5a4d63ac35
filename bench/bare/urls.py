"""Three views: a trivial JSON answer, one keyset page of an organisation's transactions, and
the same page as Kore's rows (Kore's own first-page SQL, which ``make bench`` writes to the file
``BENCH_BARE_ROWS_SQL`` names, run as it is)."""

import os
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

from .models import Transaction

FIELDS = ("id", "account_id", "occurred_on", "amount", "currency", "description", "category_id")


def _default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError


def live(request: HttpRequest) -> HttpResponse:
    return HttpResponse(orjson.dumps({"status": "ok"}), content_type="application/json")


def transactions(request: HttpRequest, organization_id: int) -> HttpResponse:
    """Kore's first page: live rows, newest first, ties by id (its keyset index)."""
    limit = min(int(request.GET.get("limit", "50")), 500)
    rows = (
        Transaction.objects.filter(organization_id=organization_id, deleted_at__isnull=True)
        .order_by("-occurred_on", "-id")
        .values(*FIELDS)[:limit]
    )
    body = orjson.dumps({"results": list(rows)}, default=_default)
    return HttpResponse(body, content_type="application/json")


@cache
def _rows_sql() -> str:
    return Path(os.environ["BENCH_BARE_ROWS_SQL"]).read_text()


def rows(request: HttpRequest) -> HttpResponse:
    """Kore's first page without Kore: its SQL (each row's JSON built by PostgreSQL, tags and
    split lines included), its response body, no authentication, scoping or DRF."""
    with connection.cursor() as db:
        db.execute(_rows_sql())
        found = db.fetchall()[:50]
    body = '{"results":[%s],"next_cursor":null}' % ",".join(row[0] for row in found)  # noqa: UP031
    return HttpResponse(body, content_type="application/json")


urlpatterns = [
    path("live/", live),
    path("orgs/<int:organization_id>/transactions/", transactions),
    path("rows/", rows),
]
