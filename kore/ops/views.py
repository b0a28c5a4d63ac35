"""Operator pages: the status page (staff, session login) and the Prometheus scrape endpoint."""

import hmac

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from . import metrics
from .status import status_report

STATUS_REFRESH_SECONDS = 30


@require_GET
def status_page(request: HttpRequest) -> HttpResponse:
    """Host, services, traffic, queues, deploys, backups and recent problems, for staff."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), login_url="admin:login")
    if not request.user.is_staff:
        raise PermissionDenied("Staff only.")
    context = status_report() | {"refresh_seconds": STATUS_REFRESH_SECONDS}
    response = render(request, "ops/status.html", context)
    add_never_cache_headers(response)
    return response


@require_GET
def metrics_endpoint(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, only for ``Authorization: Bearer <KORE_METRICS_TOKEN>``.

    Without a configured token the endpoint does not exist (404): metrics are never public.
    """
    token = settings.KORE_METRICS_TOKEN
    if not token:
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        response = HttpResponse("Unauthorised.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="kore-metrics"'
        return response
    response = HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
    add_never_cache_headers(response)
    return response
