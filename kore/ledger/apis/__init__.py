"""Ledger endpoints under /api/v1/orgs/{slug}/: thin views over selectors and services, one module
per resource. Here: the pieces they share (If-Match and ETag handling, the list's query schema)."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.fields import IdField

from .. import transaction_list as tl
from ..services.concurrency import etag_for

IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="The ETag you read; a stale one is a 412 version_conflict.",
)  # fmt: skip


def if_match(request: Request) -> str | None:
    return request.headers.get("If-Match")


def with_etag(response: Response, obj: Any) -> Response:
    response["ETag"] = etag_for(obj)
    return response


def query_schema(name: str, *, paged: bool = True, **extra: Any) -> Any:
    """The list's parameters (``transaction_list.FILTER_PARAMS``) as a serializer, for the
    schema only: ``transaction_list.parse_query`` is what reads them."""
    kinds: dict[str, Any] = {
        "date": lambda p: serializers.DateField(required=False, help_text=p.help),
        "decimal": lambda p: serializers.DecimalField(
            max_digits=20, decimal_places=4, required=False, help_text=p.help
        ),
        "integer": lambda p: IdField(required=False, help_text=p.help),
        "boolean": lambda p: serializers.BooleanField(required=False, help_text=p.help),
        "string": lambda p: serializers.CharField(required=False, help_text=p.help),
    }
    attrs: dict[str, Any] = {k: kinds[p.kind](p) for k, p in tl.FILTER_PARAMS.items()}
    attrs["ordering"] = serializers.ChoiceField(
        choices=list(tl.ORDERINGS), default=tl.DEFAULT_ORDERING, required=False
    )
    if paged:
        attrs["cursor"] = serializers.CharField(required=False)
        attrs["limit"] = serializers.IntegerField(
            required=False, min_value=1, max_value=500, default=50
        )
        attrs["running_balance"] = serializers.BooleanField(
            required=False, help_text=tl.RUNNING_BALANCE_HELP
        )
    return type(name, (serializers.Serializer,), {**attrs, **extra})
