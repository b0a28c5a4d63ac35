"""Payee endpoints under /api/v1/orgs/{slug}/payees/: thin views over selectors and services."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import NotFound
from kore.core.fields import IdField
from kore.core.serializers import StrictCharField, StrictSerializer
from kore.ledger.apis import IF_MATCH
from kore.ledger.services.concurrency import etag_for
from kore.orgs.scoping import OrgAPIView

from . import selectors, services
from .models import Payee


class PayeeOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    aliases = serializers.SerializerMethodField(help_text="Normalised spellings it answers to.")
    default_category = serializers.IntegerField(source="default_category_id", allow_null=True)
    version = serializers.IntegerField()

    def get_aliases(self, payee: Payee) -> list[str]:
        return [alias.key for alias in payee.aliases.all()]


class PayeeInput(StrictSerializer):
    name = StrictCharField(max_length=200)
    aliases = serializers.ListField(
        child=StrictCharField(max_length=200), required=False, max_length=100
    )
    default_category = IdField(required=False, allow_null=True)


class PayeePatch(PayeeInput):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)


class MergeInput(StrictSerializer):
    into = IdField(help_text="The payee that stays.")


def _answer(org: Any, payee_id: int, status: int = 200) -> Response:
    payee = selectors.payee_get(organization=org.organization, payee_id=payee_id)
    assert payee is not None
    response = Response(PayeeOutput(payee).data, status=status)
    response["ETag"] = etag_for(payee)
    return response


class PayeeListCreateApi(OrgAPIView):
    @extend_schema(responses={200: PayeeOutput(many=True)}, tags=["payees"])
    def get(self, request: Request, org_slug: str) -> Response:
        rows = selectors.payee_list(
            organization=self.org.organization, q=request.query_params.get("q", "")[:200]
        )
        return Response({"results": PayeeOutput(rows, many=True).data})

    @extend_schema(request=PayeeInput, responses={201: PayeeOutput}, tags=["payees"])
    def post(self, request: Request, org_slug: str) -> Response:
        data = PayeeInput(data=request.data)
        data.is_valid(raise_exception=True)
        payee = services.payee_create(ctx=self.org, **data.validated_data)
        return _answer(self.org, payee.pk, status=201)


class PayeeDetailApi(OrgAPIView):
    @extend_schema(responses={200: PayeeOutput}, tags=["payees"])
    def get(self, request: Request, org_slug: str, payee_id: int) -> Response:
        if selectors.payee_get(organization=self.org.organization, payee_id=payee_id) is None:
            raise NotFound()
        return _answer(self.org, payee_id)

    @extend_schema(
        request=PayeePatch, responses={200: PayeeOutput}, parameters=[IF_MATCH], tags=["payees"]
    )
    def patch(self, request: Request, org_slug: str, payee_id: int) -> Response:
        data = PayeePatch(data=request.data)
        data.is_valid(raise_exception=True)
        services.payee_update(
            ctx=self.org,
            payee_id=payee_id,
            if_match=request.headers.get("If-Match"),
            **data.validated_data,
        )
        return _answer(self.org, payee_id)


class PayeeMergeApi(OrgAPIView):
    """Merge this payee into ``into``: its spellings, transactions and rules move there, in one
    transaction, and it is deleted. Later imports of its spellings find the survivor."""

    @extend_schema(request=MergeInput, responses={200: PayeeOutput}, tags=["payees"])
    def post(self, request: Request, org_slug: str, payee_id: int) -> Response:
        data = MergeInput(data=request.data)
        data.is_valid(raise_exception=True)
        into = data.validated_data["into"]
        services.payee_merge(ctx=self.org, payee_id=payee_id, into=into)
        return _answer(self.org, into)
