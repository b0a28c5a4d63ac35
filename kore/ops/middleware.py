"""One log line and the metrics for every request: route, status, duration, database queries."""

import logging
import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from . import metrics, recorder

logger = logging.getLogger("kore.request")


class RequestMetricsMiddleware:
    """Time each request, count its queries, then log it and record it for Prometheus.

    The route name (``view``) labels the metrics, never the path: ids in paths would make the
    label set unbounded. Unresolved paths share ``<unmatched>``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        queries = [0]

        def count(
            execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
        ) -> Any:
            queries[0] += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = self.get_response(request)
        seconds = time.perf_counter() - started
        match = request.resolver_match
        view = (match.view_name or match._func_path) if match else "<unmatched>"
        metrics.observe_request(
            view=view,
            method=request.method or "-",
            status=response.status_code,
            seconds=seconds,
            queries=queries[0],
        )
        recorder.request_count(status=response.status_code)
        logger.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "view": view,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 2),
                "db_queries": queries[0],
                "user_id": _user_id(request),
                "org": (match.kwargs.get("org_slug") if match else None),
            },
        )
        return response


def _user_id(request: HttpRequest) -> int | None:
    """The user's id if authentication already ran; never triggers a query to find out."""
    user = request.__dict__.get("user")
    if user is None:
        return None
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:  # type: ignore[attr-defined]
        return None
    return getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None
