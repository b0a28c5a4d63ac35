"""Budgets and schedules under /api/v1/orgs/{slug}/: thin views over selectors and services."""

from datetime import timedelta
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import NotFound
from kore.core.fields import IdField
from kore.ledger.services.concurrency import etag_for
from kore.orgs.scoping import OrgAPIView
from kore.orgs.selectors import organization_today

from . import selectors, services
from . import serializers as s
from .budgets import budget_progress
from .forecast import cash_flow_forecast, missed
from .models import Budget, Schedule

IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="The ETag you read; a stale one is a 412 version_conflict.",
)  # fmt: skip


def _with_etag(response: Response, obj: Any) -> Response:
    response["ETag"] = etag_for(obj)
    return response


class OnQuery(serializers.Serializer[Any]):
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


# --- Schedules ------------------------------------------------------------------------------------
class ScheduleListCreateApi(OrgAPIView):
    @extend_schema(responses={200: s.ScheduleOutput(many=True)}, tags=["schedules"])
    def get(self, request: Request, org_slug: str) -> Response:
        rows = selectors.schedule_list(organization=self.org.organization)
        return Response({"results": s.ScheduleOutput(rows, many=True).data})

    @extend_schema(request=s.ScheduleInput, responses={201: s.ScheduleOutput}, tags=["schedules"])
    def post(self, request: Request, org_slug: str) -> Response:
        data = s.ScheduleInput(data=request.data)
        data.is_valid(raise_exception=True)
        schedule = services.schedule_create(ctx=self.org, **data.validated_data)
        return _with_etag(Response(s.ScheduleOutput(schedule).data, status=201), schedule)


class _ScheduleView(OrgAPIView):
    def _get(self, schedule_id: int) -> Schedule:
        found = selectors.schedule_get(organization=self.org.organization, schedule_id=schedule_id)
        if found is None:
            raise NotFound()
        return found


class ScheduleDetailApi(_ScheduleView):
    @extend_schema(responses={200: s.ScheduleOutput}, tags=["schedules"])
    def get(self, request: Request, org_slug: str, schedule_id: int) -> Response:
        schedule = self._get(schedule_id)
        return _with_etag(Response(s.ScheduleOutput(schedule).data), schedule)

    @extend_schema(
        request=s.SchedulePatch, responses={200: s.ScheduleOutput}, parameters=[IF_MATCH],
        tags=["schedules"],
    )  # fmt: skip
    def patch(self, request: Request, org_slug: str, schedule_id: int) -> Response:
        data = s.SchedulePatch(data=request.data)
        data.is_valid(raise_exception=True)
        schedule = services.schedule_update(
            ctx=self.org, schedule=self._get(schedule_id),
            if_match=request.headers.get("If-Match"), **data.validated_data,
        )  # fmt: skip
        return _with_etag(Response(s.ScheduleOutput(schedule).data), schedule)

    @extend_schema(responses={204: None}, parameters=[IF_MATCH], tags=["schedules"])
    def delete(self, request: Request, org_slug: str, schedule_id: int) -> Response:
        services.schedule_delete(
            ctx=self.org, schedule=self._get(schedule_id),
            if_match=request.headers.get("If-Match"),
        )  # fmt: skip
        return Response(status=status.HTTP_204_NO_CONTENT)


class ScheduleOccurrencesApi(_ScheduleView):
    """The dates the schedule reached, newest first: ``created`` (booked by Kore), ``linked``
    (the bank's imported row) or ``missed``; ``arrived`` says whether the bank confirmed it."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=["schedules"])
    def get(self, request: Request, org_slug: str, schedule_id: int) -> Response:
        schedule = self._get(schedule_id)
        rows = selectors.occurrence_list(schedule=schedule)[:500]
        return Response({"results": [s.occurrence_data(o) for o in rows]})


class ForecastQuery(serializers.Serializer[Any]):
    days = serializers.IntegerField(min_value=1, max_value=366, default=90)
    account = IdField(required=False)


class ForecastApi(OrgAPIView):
    """Each account's balance for the next ``days`` (90 by default): today's balance, then every
    schedule's expected date and every transaction already booked for a later date, with the
    running balance, the lowest point and the closing balance; and the bills that did not
    arrive (``missed``)."""

    @extend_schema(parameters=[ForecastQuery], responses={200: OpenApiTypes.OBJECT},
                   tags=["schedules"])  # fmt: skip
    def get(self, request: Request, org_slug: str) -> Response:
        query = ForecastQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        org = self.org.organization
        today = organization_today(organization=org)
        days, account = query.validated_data["days"], query.validated_data.get("account")
        accounts = cash_flow_forecast(organization=org, today=today, days=days, account_id=account)
        return Response({
            "date_from": today.isoformat(),
            "date_to": (today + timedelta(days=days)).isoformat(),
            "accounts": [s.account_forecast_data(f) for f in accounts],
            "missed": [s.occurrence_data(o) for o in missed(organization=org, today=today)],
        })  # fmt: skip
