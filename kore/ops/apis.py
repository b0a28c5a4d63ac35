"""Health endpoints for load balancers and orchestrators: never cached, never throttled."""

import time

from django.http.response import HttpResponseBase
from django.utils.cache import add_never_cache_headers
from django.utils.http import http_date
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .health import health_report

_Check = inline_serializer(
    "HealthCheck",
    {
        "status": serializers.ChoiceField(["ok", "error", "skipped", "timeout"]),
        "latency_ms": serializers.FloatField(),
        "detail": serializers.CharField(required=False),
    },
)
_Health = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(["ok", "degraded", "error"]),
        "timestamp": serializers.DateTimeField(),
        "version": serializers.CharField(),
        "checks": serializers.DictField(child=_Check),
    },
)


# What ``add_never_cache_headers`` writes on a response that has neither header yet.
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"
_expires: tuple[int, str] = (0, "")


def _never_cached(response: HttpResponseBase) -> None:
    """``add_never_cache_headers(response)``, the same headers and values, without parsing and
    rebuilding Cache-Control twice and formatting the date again on every probe: the liveness
    probe is the lightest request Kore serves, and this was a tenth of it."""
    global _expires  # one second's Expires value, replaced whole
    if response.has_header("Expires") or response.has_header("Cache-Control"):
        add_never_cache_headers(response)
        return
    now = int(time.time())
    second, expires = _expires
    if second != now:
        expires = http_date(now)
        _expires = (now, expires)
    response.headers["Expires"] = expires
    response.headers["Cache-Control"] = NEVER_CACHE


class HealthApi(APIView):
    """Readiness: 200 ``ok``/``degraded`` (cache or broker down), 503 ``error`` (database)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    @extend_schema(responses={200: _Health, 503: _Health}, tags=["health"])
    def get(self, request: Request) -> Response:
        status, body = health_report()
        response = Response(body, status=status)
        _never_cached(response)
        return response


class LiveApi(APIView):
    """Liveness: no I/O at all, 200 while the process serves requests."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    @extend_schema(
        responses={200: inline_serializer("Live", {"status": serializers.CharField()})},
        tags=["health"],
    )
    def get(self, request: Request) -> Response:
        response = Response({"status": "ok"})
        _never_cached(response)
        return response
