"""Two views: a trivial JSON answer and one keyset page of an organisation's transactions."""

from decimal import Decimal
from typing import Any

import orjson
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


urlpatterns = [
    path("live/", live),
    path("orgs/<int:organization_id>/transactions/", transactions),
]
