"""Four views: a trivial JSON answer, one keyset page of an organisation's transactions, the
same page as Kore's rows (Kore's own first-page SQL, which ``make bench`` writes to the file
``BENCH_BARE_ROWS_SQL`` names, run as it is), and those rows after only the work every Kore
list request must do (``mandatory``)."""

import json
import logging
import os
import sys
import time
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from kore.core.prepared import prepared_cursor
from kore.core.request_id import current_request_id, request_id_from_header
from kore.core.throttling import SimpleRateThrottle
from kore.ops.logs import ContextFilter, JsonLineFormatter

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


@cache
def _auth() -> dict[str, Any]:
    """Kore's authentication statement and its row's layout (``bench/helper.py auth-sql``)."""
    layout: dict[str, Any] = json.loads(Path(os.environ["BENCH_BARE_AUTH_SQL"]).read_text())
    return layout


class _UserThrottle(SimpleRateThrottle):
    """Kore's per-person throttle (its counter, key and rate) without DRF's request."""

    scope = "user"
    rate = os.environ.get("KORE_THROTTLE_USER", "5000/hour")


_log = logging.getLogger("kore.request")


def log_requests_to_stderr() -> None:
    """Write ``mandatory``'s request lines as Kore does: its formatter and context filter on a
    stream handler to stderr (which ``make bench`` sends to a file, as it does Kore's)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonLineFormatter())
    _log.addHandler(handler)
    _log.setLevel(logging.INFO)
    _log.propagate = False


def _refuse(status: int) -> HttpResponse:
    code = "token_invalid" if status == 401 else "throttled"
    body = b'{"error":{"code":"%s"}}' % code.encode()
    response = HttpResponse(body, status=status, content_type="application/json")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _authenticated_user(request: HttpRequest, slug: str) -> int | None:
    """The person's id when the bearer JWT is valid (simplejwt, Kore's key and claims) and
    Kore's one query finds them active, the token not revoked, and a member of ``slug``."""
    parts = request.META.get("HTTP_AUTHORIZATION", "").encode("iso-8859-1").split()
    if len(parts) != 2 or parts[0] != b"Bearer":
        return None
    try:
        token = AccessToken(parts[1])  # type: ignore[arg-type]
    except TokenError:
        return None
    user_id = str(token.get("user_id"))
    if not (user_id.isascii() and user_id.isdigit()):
        return None
    auth = _auth()
    with prepared_cursor() as db:  # planned once per connection, as Kore's is
        db.execute(auth["sql"], [str(token.get("jti", "")), timezone.now(), slug, int(user_id)])
        row = db.fetchone()
    if row is None or row[auth["revoked"]] or row[auth["membership"]] is None:
        return None
    changed, issued = row[auth["credentials_changed_at"]], token.get("iat")
    if changed is not None and (
        not isinstance(issued, int | float) or issued < changed.timestamp()
    ):
        return None  # issued before the password or two-factor sign-in changed
    return int(user_id)


def mandatory(request: HttpRequest) -> HttpResponse:
    """bare_rows after only what Kore must do for each list request: verify the JWT, run its
    authentication query (prepared), count the request in its Redis throttle, log its JSON
    request line. A wrong token is refused (401), so none of it can be skipped."""
    started = time.perf_counter()
    current_request_id.set(request_id_from_header(request.META.get("HTTP_X_REQUEST_ID")))
    slug = os.environ["BENCH_BARE_ORG_SLUG"]
    user_id = _authenticated_user(request, slug)
    if user_id is None:
        response = _refuse(401)
    else:
        throttle = _UserThrottle()
        key = throttle.cache_format % {"scope": throttle.scope, "ident": user_id}
        response = rows(request) if throttle.allow_key(key) else _refuse(429)
    _log.info(
        "request",
        extra={
            "method": request.method,
            "path": request.path,
            "view": "bare-mandatory",
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "db_queries": 2 if user_id else 1,
            "user_id": user_id,
            "org": slug,
        },
    )
    return response


urlpatterns = [
    path("live/", live),
    path("orgs/<int:organization_id>/transactions/", transactions),
    path("rows/", rows),
    path("mandatory/", mandatory),
]
