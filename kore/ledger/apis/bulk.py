"""Bulk edits of transactions by id list or by the list's filters."""

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import KoreError
from kore.core.fields import IdField
from kore.core.serializers import StrictCharField, StrictSerializer
from kore.orgs.scoping import OrgAPIView
from kore.payees.selectors import rule_offer

from .. import transaction_list as tl
from ..models import Transaction
from ..services.bulk import bulk_targets, transactions_bulk_delete, transactions_bulk_update
from . import query_schema


@extend_schema_field(query_schema("BulkFilter", paged=False))
class FilterField(serializers.DictField):
    """The list's filters, named as its query parameters (read by ``parse_filters``)."""


class BulkTarget(StrictSerializer):
    ids = serializers.ListField(child=IdField(), required=False, max_length=1000, allow_empty=False)
    filter = FilterField(required=False)

    def validate_filter(self, value: dict[str, Any]) -> tl.TransactionFilter:
        try:
            return tl.parse_filters(value, also=("ordering",))
        except KoreError as exc:
            raise serializers.ValidationError(
                {
                    k: [ErrorDetail(e["message"], code=e["code"]) for e in v]
                    for k, v in exc.fields.items()
                }
            ) from None


class BulkSet(StrictSerializer):
    category = IdField(required=False, allow_null=True)
    status = serializers.ChoiceField(
        choices=[Transaction.Status.PENDING, Transaction.Status.CLEARED], required=False
    )


class BulkUpdateInput(BulkTarget):
    set = BulkSet(required=False)
    add_tags = serializers.ListField(child=StrictCharField(max_length=50), required=False)
    remove_tags = serializers.ListField(child=StrictCharField(max_length=50), required=False)


Changed = inline_serializer("BulkResult", {"changed": serializers.IntegerField()})
Recategorised = inline_serializer(
    "BulkUpdateResult",
    {
        "changed": serializers.IntegerField(),
        "rule_offer": serializers.DictField(
            required=False,
            allow_null=True,
            help_text="After a re-categorise of one payee's rows: the rule that would have done "
            "it, ready for POST /rules/ (null when none fits or one exists).",
        ),
    },
)


def _target(data: dict[str, Any]) -> dict[str, Any]:
    return {"ids": data.get("ids"), "filters": data.get("filter")}


class TransactionBulkUpdateApi(OrgAPIView):
    """Re-categorise, set status, add or remove tags on up to 1,000 transactions at once."""

    @extend_schema(request=BulkUpdateInput, responses={200: Recategorised}, tags=["transactions"])
    def post(self, request: Request, org_slug: str) -> Response:
        data = BulkUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        changes = data.validated_data.get("set", {})
        target = _target(data.validated_data)
        changed = transactions_bulk_update(
            ctx=self.org,
            changes=changes,
            add_tags=data.validated_data.get("add_tags", []),
            remove_tags=data.validated_data.get("remove_tags", []),
            **target,
        )
        body: dict[str, Any] = {"changed": changed}
        if changes.get("category") is not None:
            offer = rule_offer(
                organization=self.org.organization,
                transactions=bulk_targets(self.org, **target),
                category_id=changes["category"],
            )
            if offer is not None:
                body["rule_offer"] = offer
        return Response(body)


class TransactionBulkDeleteApi(OrgAPIView):
    """Soft-delete up to 1,000 transactions at once (restorable for 30 days)."""

    @extend_schema(request=BulkTarget, responses={200: Changed}, tags=["transactions"])
    def post(self, request: Request, org_slug: str) -> Response:
        data = BulkTarget(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(
            {"changed": transactions_bulk_delete(ctx=self.org, **_target(data.validated_data))}
        )
