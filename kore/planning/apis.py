"""Budgets and schedules under /api/v1/orgs/{slug}/: thin views over selectors and services."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import NotFound
from kore.ledger.services.concurrency import etag_for
from kore.orgs.scoping import OrgAPIView
from kore.orgs.selectors import organization_today

from . import selectors, services
from . import serializers as s
from .budgets import budget_progress
from .models import Budget

IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="The ETag you read; a stale one is a 412 version_conflict.",
)  # fmt: skip


def _with_etag(response: Response, obj: Any) -> Response:
    response["ETag"] = etag_for(obj)
    return response


class OnQuery(serializers.Serializer):  # type: ignore[type-arg]
    on = serializers.DateField(required=False, help_text="Default: today (organisation TZ).")


# --- Budgets --------------------------------------------------------------------------------------
class BudgetListCreateApi(OrgAPIView):
    @extend_schema(responses={200: s.BudgetOutput(many=True)}, tags=["budgets"])
    def get(self, request: Request, org_slug: str) -> Response:
        rows = selectors.budget_list(organization=self.org.organization)
        return Response({"results": s.BudgetOutput(rows, many=True).data})

    @extend_schema(request=s.BudgetInput, responses={201: s.BudgetOutput}, tags=["budgets"])
    def post(self, request: Request, org_slug: str) -> Response:
        data = s.BudgetInput(data=request.data)
        data.is_valid(raise_exception=True)
        budget = services.budget_create(ctx=self.org, **data.validated_data)
        return _with_etag(Response(s.BudgetOutput(budget).data, status=201), budget)


class _BudgetView(OrgAPIView):
    def _get(self, budget_id: int) -> Budget:
        found = selectors.budget_get(organization=self.org.organization, budget_id=budget_id)
        if found is None:
            raise NotFound()
        return found


class BudgetDetailApi(_BudgetView):
    @extend_schema(responses={200: s.BudgetOutput}, tags=["budgets"])
    def get(self, request: Request, org_slug: str, budget_id: int) -> Response:
        budget = self._get(budget_id)
        return _with_etag(Response(s.BudgetOutput(budget).data), budget)

    @extend_schema(
        request=s.BudgetPatch, responses={200: s.BudgetOutput}, parameters=[IF_MATCH],
        tags=["budgets"],
    )  # fmt: skip
    def patch(self, request: Request, org_slug: str, budget_id: int) -> Response:
        data = s.BudgetPatch(data=request.data)
        data.is_valid(raise_exception=True)
        budget = services.budget_update(
            ctx=self.org, budget=self._get(budget_id), if_match=request.headers.get("If-Match"),
            **data.validated_data,
        )  # fmt: skip
        return _with_etag(Response(s.BudgetOutput(budget).data), budget)

    @extend_schema(responses={204: None}, parameters=[IF_MATCH], tags=["budgets"])
    def delete(self, request: Request, org_slug: str, budget_id: int) -> Response:
        services.budget_delete(
            ctx=self.org, budget=self._get(budget_id), if_match=request.headers.get("If-Match")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class BudgetProgressApi(_BudgetView):
    """The period holding ``on`` (default today): budgeted (the amount plus what rollover
    carried), spent, left, the spending projected at the period's end from the pace so far, the
    thresholds reached, and the spending in currencies Kore could not convert (not counted)."""

    @extend_schema(parameters=[OnQuery], responses={200: OpenApiTypes.OBJECT}, tags=["budgets"])
    def get(self, request: Request, org_slug: str, budget_id: int) -> Response:
        query = OnQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        budget = self._get(budget_id)
        on = query.validated_data.get("on") or organization_today(
            organization=self.org.organization
        )
        return Response(s.progress_data(budget, budget_progress(budget=budget, on=on)))
