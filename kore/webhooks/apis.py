"""Webhook endpoints, their deliveries, redelivery and replay: admins, as people only.

Every method refuses an API token (403 ``human_only``): an endpoint receives the organisation's
data and its secret signs what Kore sends, so a leaked token must not be able to add one.
"""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import NotFound
from kore.core.pagination import cursor_decode, cursor_encode, parse_limit
from kore.core.serializers import StrictCharField, StrictSerializer
from kore.orgs.models import Role
from kore.orgs.scoping import OrgAPIView

from . import selectors, services
from .events import EVENT_TYPES
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

TAGS = ["webhooks"]
ALL_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PATCH", "PUT", "DELETE"})


class EndpointOutput(serializers.ModelSerializer[WebhookEndpoint]):
    class Meta:
        model = WebhookEndpoint
        fields: tuple[str, ...] = (
            "id", "url", "description", "event_types", "is_active", "disabled_reason",
            "failing_since", "created_at",
        )  # fmt: skip


class EndpointCreatedOutput(EndpointOutput):
    secret = serializers.CharField(
        help_text="Signs every delivery (Kore-Signature). Shown once; store it now."
    )

    class Meta(EndpointOutput.Meta):
        fields = (*EndpointOutput.Meta.fields, "secret")


class AttemptOutput(serializers.ModelSerializer[WebhookAttempt]):
    class Meta:
        model = WebhookAttempt
        fields = ("started_at", "status_code", "latency_ms", "error")


class DeliveryOutput(serializers.ModelSerializer[WebhookDelivery]):
    class Meta:
        model = WebhookDelivery
        fields = (
            "id", "event_id", "event_type", "status", "attempts", "next_attempt_at",
            "last_status_code", "last_error", "created_at", "delivered_at",
        )  # fmt: skip


def _delivery_json(delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> dict[str, Any]:
    body: dict[str, Any] = dict(DeliveryOutput(delivery).data)
    body["attempt_log"] = AttemptOutput(attempts, many=True).data
    return body


EventTypes = serializers.ListField(
    child=serializers.ChoiceField(choices=EVENT_TYPES), allow_empty=False, max_length=20
)


class WebhookAPIView(OrgAPIView):
    read_role = Role.ADMIN
    write_role = Role.ADMIN
    human_only = ALL_METHODS

    def endpoint(self, endpoint_id: int) -> WebhookEndpoint:
        found = selectors.endpoint_get(organization=self.org.organization, endpoint_id=endpoint_id)
        if found is None:
            raise NotFound()
        return found


class WebhookListCreateApi(WebhookAPIView):
    """Webhook endpoints; register one (HTTPS; the secret is in this answer only)."""

    class Input(StrictSerializer):
        url = StrictCharField(max_length=2000)
        event_types = EventTypes
        description = StrictCharField(max_length=200, required=False, allow_blank=True)

    @extend_schema(responses={200: EndpointOutput(many=True)}, tags=TAGS)
    def get(self, request: Request, org_slug: str) -> Response:
        endpoints = selectors.endpoint_list(organization=self.org.organization)
        return Response({"results": EndpointOutput(endpoints, many=True).data})

    @extend_schema(request=Input, responses={201: EndpointCreatedOutput}, tags=TAGS)
    def post(self, request: Request, org_slug: str) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.endpoint_create(ctx=self.org, **data.validated_data)
        return Response(EndpointCreatedOutput(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookDetailApi(WebhookAPIView):
    """One endpoint; change its URL, types or description, turn it off or on, or remove it."""

    class Input(StrictSerializer):
        url = StrictCharField(max_length=2000, required=False)
        event_types = serializers.ListField(
            child=serializers.ChoiceField(choices=EVENT_TYPES),
            allow_empty=False,
            max_length=20,
            required=False,
        )
        description = StrictCharField(max_length=200, required=False, allow_blank=True)
        is_active = serializers.BooleanField(required=False)

    @extend_schema(responses={200: EndpointOutput}, tags=TAGS)
    def get(self, request: Request, org_slug: str, endpoint_id: int) -> Response:
        return Response(EndpointOutput(self.endpoint(endpoint_id)).data)

    @extend_schema(request=Input, responses={200: EndpointOutput}, tags=TAGS)
    def patch(self, request: Request, org_slug: str, endpoint_id: int) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(
            endpoint=self.endpoint(endpoint_id), **data.validated_data
        )
        return Response(EndpointOutput(endpoint).data)

    @extend_schema(responses={204: None}, tags=TAGS)
    def delete(self, request: Request, org_slug: str, endpoint_id: int) -> Response:
        services.endpoint_delete(endpoint=self.endpoint(endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


DeliveryPage = inline_serializer(
    "WebhookDeliveries",
    {
        "results": inline_serializer(
            "WebhookDelivery",
            {
                **DeliveryOutput().get_fields(),
                "attempt_log": AttemptOutput(many=True),
            },
            many=True,
        ),
        "next_cursor": serializers.CharField(allow_null=True),
    },
)


class WebhookDeliveryListApi(WebhookAPIView):
    """An endpoint's deliveries, newest first, each with its attempts (status, latency)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str, required=False),
            OpenApiParameter("limit", int, required=False, description="1 to 500, default 50"),
        ],
        responses={200: DeliveryPage},
        tags=TAGS,
    )
    def get(self, request: Request, org_slug: str, endpoint_id: int) -> Response:
        endpoint = self.endpoint(endpoint_id)
        scope = f"webhook-deliveries:{endpoint.pk}"
        limit = parse_limit(request.query_params.get("limit"))
        raw = request.query_params.get("cursor")
        before = None
        if raw:
            values = cursor_decode(raw, scope=scope)
            before = values[0] if values and isinstance(values[0], int) else None
        rows = selectors.delivery_page(endpoint=endpoint, before=before, limit=limit)
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = cursor_encode([rows[-1][0].pk], scope=scope) if more else None
        results = [_delivery_json(d, attempts) for d, attempts in rows]
        return Response({"results": results, "next_cursor": cursor})


class WebhookRedeliverApi(WebhookAPIView):
    """Send one delivery again, now (the same event id: receivers drop what they had)."""

    @extend_schema(request=None, responses={202: DeliveryOutput}, tags=TAGS)
    def post(self, request: Request, org_slug: str, endpoint_id: int, delivery_id: int) -> Response:
        delivery = services.delivery_redeliver(
            endpoint=self.endpoint(endpoint_id), delivery_id=delivery_id
        )
        return Response(DeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)


class WebhookReplayApi(WebhookAPIView):
    """Send again everything after a cursor: ``after_event`` is the number in an
    ``evt_<n>`` id, ``after_change`` a change number (the first number of ``chg_<n>_<id>``)."""

    class Input(StrictSerializer):
        after_event = serializers.IntegerField(min_value=0, required=False)
        after_change = serializers.IntegerField(min_value=0, required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if not attrs:
                raise serializers.ValidationError(
                    "Give after_event, after_change or both.", code="replay_cursor_required"
                )
            return attrs

    @extend_schema(
        request=Input,
        responses={202: inline_serializer("WebhookReplay", {"queued": serializers.IntegerField()})},
        tags=TAGS,
    )
    def post(self, request: Request, org_slug: str, endpoint_id: int) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        queued = services.endpoint_replay(
            endpoint=self.endpoint(endpoint_id),
            after_event=data.validated_data.get("after_event"),
            after_change=data.validated_data.get("after_change"),
        )
        return Response({"queued": queued}, status=status.HTTP_202_ACCEPTED)
