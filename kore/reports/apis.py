"""Read-only reports under /api/v1/orgs/{slug}/reports/."""

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import RuleViolation
from kore.core.renderers import wants_browsable
from kore.fx.conversion import reporting_currency
from kore.orgs.models import Organization
from kore.orgs.scoping import OrgAPIView
from kore.orgs.selectors import organization_today

from . import converted, selectors

MAX_RANGE_DAYS = 3 * 366
TAGS = ["reports"]


def _today(organization: Organization) -> date:
    """Today in the organisation's time zone: where "this month" starts for its people."""
    return organization_today(organization=organization)


class ConvertQuery(serializers.Serializer[Any]):
    currency = serializers.CharField(
        required=False,
        help_text="Also add everything up in this ISO 4217 currency (`converted`); default: the "
        "organisation's reporting_currency when set. An unknown code is a 422.",
    )
    explain = serializers.BooleanField(
        default=False, help_text="List, for each converted figure, its lines and their rates."
    )


class RangeQuery(ConvertQuery):
    date_from = serializers.DateField(required=False, help_text="Default: a year before date_to.")
    date_to = serializers.DateField(required=False, help_text="Default: today (organisation TZ).")


class CashFlowQuery(RangeQuery):
    period = serializers.ChoiceField(choices=list(selectors.PERIODS), default="month")
    include_transfers = serializers.BooleanField(default=False)


class BalancesQuery(ConvertQuery):
    as_of = serializers.DateField(required=False, help_text="Default: today (organisation TZ).")


class NetWorthQuery(RangeQuery):
    period = serializers.ChoiceField(choices=list(selectors.PERIODS), default="month")


def _target(organization: Organization, data: dict[str, Any]) -> dict[str, Any] | None:
    """The conversion asked for (``currency``, ``explain``), or None for per-currency only."""
    requested = data.get("currency")
    if not requested and not organization.reporting_currency:
        return None
    currency = reporting_currency(organization=organization, requested=requested)
    return {"currency": currency, "explain": data["explain"]}


_PLAIN: dict[str, Any] = {"currency": None}


def _convert_params(organization: Organization, target: dict[str, Any] | None) -> dict[str, Any]:
    """What a converted report depends on besides the ledger (rate writes bump its version)."""
    if target is None:
        return {}
    return target | {"max_rate_age_days": organization.max_rate_age_days}


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
) -> HttpResponse:
    """The cached report; API clients get the cached JSON bytes as they are."""
    if wants_browsable(request):
        return Response(selectors.report_cached(organization, name, params, compute))
    body = selectors.report_cached_json(organization, name, params, compute)
    return HttpResponse(body, content_type="application/json")


_Money = serializers.CharField(help_text='Decimal string, e.g. "-12.30".')
_CONVERTED = serializers.JSONField(
    required=False,
    help_text="With ?currency= or a reporting currency set: the report added up in that currency "
    "(currency, complete, unconverted amounts, rows; explain=true: each figure's lines and rates).",
)


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
            "converted": _CONVERTED,
        })},
        tags=TAGS,
    )  # fmt: skip
    def get(self, request: Request, org_slug: str) -> HttpResponse:
        query = BalancesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        org = self.org.organization
        as_of = query.validated_data.get("as_of") or _today(org)
        target = _target(org, query.validated_data)

        def compute() -> dict[str, Any]:
            return converted.balances_report(organization=org, as_of=as_of, **(target or _PLAIN))

        params = {"as_of": as_of} | _convert_params(org, target)
        return _cached(request, org, "balances", params, compute)


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
            "converted": _CONVERTED,
        })},
        tags=TAGS,
    )  # fmt: skip
    def get(self, request: Request, org_slug: str) -> HttpResponse:
        query = RangeQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        org = self.org.organization
        date_from, date_to = _range(org, query.validated_data)
        target = _target(org, query.validated_data)

        def compute() -> dict[str, Any]:
            return converted.category_report(
                organization=org, date_from=date_from, date_to=date_to, **(target or _PLAIN)
            )

        params = {"from": date_from, "to": date_to} | _convert_params(org, target)
        return _cached(request, org, "categories-in-out", params, compute)


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
            "converted": _CONVERTED,
        })},
        tags=TAGS,
    )  # fmt: skip
    def get(self, request: Request, org_slug: str) -> HttpResponse:
        query = CashFlowQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        org = self.org.organization
        date_from, date_to = _range(org, query.validated_data)
        period = query.validated_data["period"]
        transfers = query.validated_data["include_transfers"]
        target = _target(org, query.validated_data)

        def compute() -> dict[str, Any]:
            return converted.cash_flow_report(
                organization=org, date_from=date_from, date_to=date_to, period=period,
                include_transfers=transfers, **(target or _PLAIN),
            )  # fmt: skip

        params = {"from": date_from, "to": date_to, "period": period, "transfers": transfers}
        return _cached(request, org, "cashflow", params | _convert_params(org, target), compute)


class NetWorthApi(OrgAPIView):
    """All accounts added up in one currency at the end of each day, week or month, each
    balance converted at that day's rate (``currency``, default the reporting currency)."""

    @extend_schema(
        parameters=[NetWorthQuery],
        responses={200: inline_serializer("NetWorthReport", {
            "currency": serializers.CharField(), "complete": serializers.BooleanField(),
            "unconverted": serializers.JSONField(),
            "date_from": serializers.DateField(), "date_to": serializers.DateField(),
            "period": serializers.CharField(),
            "rows": inline_serializer("NetWorthRow", {
                "date": serializers.DateField(help_text="The period's last day."),
                "net_worth": _Money, "complete": serializers.BooleanField(),
            }, many=True),
        })},
        tags=TAGS,
    )  # fmt: skip
    def get(self, request: Request, org_slug: str) -> HttpResponse:
        query = NetWorthQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        org = self.org.organization
        date_from, date_to = _range(org, query.validated_data)
        period = query.validated_data["period"]
        currency = reporting_currency(
            organization=org, requested=query.validated_data.get("currency")
        )
        target = {"currency": currency, "explain": query.validated_data["explain"]}
        params = {"from": date_from, "to": date_to, "period": period}
        return _cached(
            request,
            org, "net-worth", params | _convert_params(org, target),
            lambda: converted.net_worth(
                organization=org, date_from=date_from, date_to=date_to, period=period, **target
            ),
        )  # fmt: skip
