"""Transfers: list, create, read, correct both legs at once, delete."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import NotFound
from kore.core.pagination import parse_limit
from kore.orgs.scoping import OrgAPIView

from .. import serializers as s
from ..selectors.transfers import transfer_get, transfer_page
from ..services import transfers
from . import IF_MATCH, if_match

TAGS = ["transfers"]


class _TransferRender:
    org: Any

    def render(self, transfer_id: int, status: int = 200) -> Response:
        body = transfer_get(organization=self.org.organization, transfer_id=transfer_id)
        if body is None:
            raise NotFound()
        response = Response(body, status=status)
        response["ETag"] = body["etag"]
        return response


class TransferListCreateApi(_TransferRender, OrgAPIView):
    """Transfers newest first (keyset ``cursor``), each with both legs; or move money between
    two accounts (two linked legs; across currencies both amounts)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("limit", int, required=False),
            OpenApiParameter("cursor", str, required=False),
        ],
        responses={200: s.TransferPage},
        tags=TAGS,
        operation_id="orgs_transfers_list",
    )
    def get(self, request: Request, org_slug: str) -> Response:
        limit = parse_limit(request.query_params.get("limit"))
        results, next_cursor = transfer_page(
            organization=self.org.organization,
            cursor=request.query_params.get("cursor") or None,
            limit=limit,
        )
        return Response({"results": results, "next_cursor": next_cursor})

    @extend_schema(request=s.TransferInput, responses={201: s.TransferOutput}, tags=TAGS)
    def post(self, request: Request, org_slug: str) -> Response:
        data = s.TransferInput(data=request.data)
        data.is_valid(raise_exception=True)
        transfer = transfers.transfer_create(ctx=self.org, **data.validated_data)
        return self.render(transfer.pk, status=201)


class TransferDetailApi(_TransferRender, OrgAPIView):
    """One transfer; PATCH corrects amount (to_amount or rate across currencies), date and
    description on both legs at once; DELETE removes both legs (restorable through either)."""

    @extend_schema(responses={200: s.TransferOutput}, tags=TAGS)
    def get(self, request: Request, org_slug: str, transfer_id: int) -> Response:
        return self.render(transfer_id)

    @extend_schema(
        request=s.TransferPatch, responses={200: s.TransferOutput}, parameters=[IF_MATCH],
        tags=TAGS,
    )  # fmt: skip
    def patch(self, request: Request, org_slug: str, transfer_id: int) -> Response:
        data = s.TransferPatch(data=request.data)
        data.is_valid(raise_exception=True)
        transfers.transfer_update(
            ctx=self.org, transfer_id=transfer_id, if_match=if_match(request),
            **data.validated_data,
        )  # fmt: skip
        return self.render(transfer_id)

    @extend_schema(responses={204: None}, parameters=[IF_MATCH], tags=TAGS)
    def delete(self, request: Request, org_slug: str, transfer_id: int) -> Response:
        transfers.transfer_delete(ctx=self.org, transfer_id=transfer_id, if_match=if_match(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
