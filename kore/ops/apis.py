"""Health endpoints for load balancers and orchestrators: never cached, never throttled."""

from django.utils.cache import add_never_cache_headers
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


class HealthApi(APIView):
    """Readiness: 200 ``ok``/``degraded`` (cache or broker down), 503 ``error`` (database)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    @extend_schema(responses={200: _Health, 503: _Health}, tags=["health"])
    def get(self, request: Request) -> Response:
        status, body = health_report()
        response = Response(body, status=status)
        add_never_cache_headers(response)
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
        add_never_cache_headers(response)
        return response
