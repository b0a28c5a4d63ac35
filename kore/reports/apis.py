"""Read-only reports under /api/v1/orgs/{slug}/reports/."""

import zoneinfo
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import RuleViolation
from kore.core.renderers import wants_browsable
from kore.orgs.models import Organization
from kore.orgs.scoping import OrgAPIView

from . import selectors

MAX_RANGE_DAYS = 3 * 366
TAGS = ["reports"]


def _today(organization: Organization) -> date:
    """Today in the organisation's time zone: where "this month" starts for its people."""
    return datetime.now(zoneinfo.ZoneInfo(organization.time_zone)).date()


class RangeQuery(serializers.Serializer):  # type: ignore[type-arg]
    date_from = serializers.DateField(required=False, help_text="Default: a year before date_to.")
    date_to = serializers.DateField(required=False, help_text="Default: today (organisation TZ).")


class CashFlowQuery(RangeQuery):
    period = serializers.ChoiceField(choices=list(selectors.PERIODS), default="month")
    include_transfers = serializers.BooleanField(default=False)


class BalancesQuery(serializers.Serializer):  # type: ignore[type-arg]
    as_of = serializers.DateField(required=False, help_text="Default: today (organisation TZ).")


def _range(organization: Organization, data: dict[str, Any]) -> tuple[date, date]:
    date_to = data.get("date_to") or _today(organization)
    date_from = data.get("date_from") or date_to - timedelta(days=365)
    if date_from > date_to or (date_to - date_from).days > MAX_RANGE_DAYS:
        raise RuleViolation(
            "date_from must be before date_to and the range at most three years.",
            code="invalid_range",
            fields={"date_from": [{"code": "invalid_range", "message": "Out of range."}]},
        )
    return date_from, date_to


def _cached(
    request: Request,
    organization: Organization,
    name: str,
    params: dict[str, Any],
    compute: Callable[[], Any],
) -> Response:
    """The cached report; API clients get the cached JSON bytes as they are."""
    if wants_browsable(request):
        return Response(selectors.report_cached(organization, name, params, compute))
    body = selectors.report_cached_json(organization, name, params, compute)
    return HttpResponse(body, content_type="application/json")  # type: ignore[return-value]


_Money = serializers.CharField(help_text='Decimal string, e.g. "-12.30".')


class BalancesApi(OrgAPIView):
    """Each account's balance at the end of a date, with totals per currency."""

    @extend_schema(
        parameters=[BalancesQuery],
        responses={200: inline_serializer("BalancesReport", {
            "as_of": serializers.DateField(),
            "accounts": inline_serializer("AccountBalance", {
                "account": serializers.IntegerField(), "name": serializers.CharField(),
                "currency": serializers.CharField(), "archived": serializers.BooleanField(),
                "balance": _Money,
            }, many=True),
            "totals": inline_serializer("CurrencyBalance", {
                "currency": serializers.CharField(), "balance": _Money,
            }, many=True),
        })},
        tags=TAGS,
    )  # fmt: skip
    def get(self, request: Request, org_slug: str) -> Response:
        query = BalancesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        org = self.org.organization
        as_of = query.validated_data.get("as_of") or _today(org)
        return _cached(
            request,
            org, "balances", {"as_of": as_of},
            lambda: selectors.balances(organization=org, as_of=as_of),
        )  # fmt: skip


class CategoryTotalsApi(OrgAPIView):
    """Totals by category and month (split lines under their own categories), per currency:
    ``income`` (money in) and ``spending`` (money out, negative) apart, ``total`` their sum.
    Transfers between the organisation's accounts are neither and are left out."""

    @extend_schema(
        parameters=[RangeQuery],
        responses={200: inline_serializer("CategoryReport", {
            "date_from": serializers.DateField(), "date_to": serializers.DateField(),
            "rows": inline_serializer("CategoryMonth", {
                "month": serializers.CharField(help_text="YYYY-MM"),
                "category": serializers.IntegerField(allow_null=True),
                "currency": serializers.CharField(),
                "income": _Money, "spending": _Money, "total": _Money,
                "count": serializers.IntegerField(),
            }, many=True),
        })},
        tags=TAGS,
    )  # fmt: skip
    def get(self, request: Request, org_slug: str) -> Response:
        query = RangeQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        org = self.org.organization
        date_from, date_to = _range(org, query.validated_data)
        return _cached(
            request,
            org, "categories-in-out", {"from": date_from, "to": date_to},
            lambda: selectors.category_totals(
                organization=org, date_from=date_from, date_to=date_to
            ),
        )  # fmt: skip


class CashFlowApi(OrgAPIView):
    """Money in, out and net per day, week or month (transfers excluded unless asked)."""

    @extend_schema(
        parameters=[CashFlowQuery],
        responses={200: inline_serializer("CashFlowReport", {
            "date_from": serializers.DateField(), "date_to": serializers.DateField(),
            "period": serializers.CharField(),
            "rows": inline_serializer("CashFlowRow", {
                "period": serializers.DateField(help_text="First day of the period."),
                "currency": serializers.CharField(),
                "inflow": _Money, "outflow": _Money, "net": _Money,
            }, many=True),
        })},
        tags=TAGS,
    )  # fmt: skip
    def get(self, request: Request, org_slug: str) -> Response:
        query = CashFlowQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        org = self.org.organization
        date_from, date_to = _range(org, query.validated_data)
        period = query.validated_data["period"]
        transfers = query.validated_data["include_transfers"]
        return _cached(
            request,
            org, "cashflow",
            {"from": date_from, "to": date_to, "period": period, "transfers": transfers},
            lambda: selectors.cash_flow(
                organization=org, date_from=date_from, date_to=date_to, period=period,
                include_transfers=transfers,
            ),
        )  # fmt: skip
