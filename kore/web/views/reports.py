"""Reports (spending by category, cash flow, net worth in one currency, every currency as
booked) as SVG + table + CSV."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django import forms as djforms
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from kore.core.money import is_currency
from kore.exports.sheets import Cell, write_csv_rows
from kore.fx.conversion import reporting_currency
from kore.ledger import selectors
from kore.orgs.scoping import OrgContext
from kore.reports.converted import cash_flow_converted, category_totals_converted, net_worth
from kore.reports.selectors import category_totals, report_cached

from .. import charts
from .. import forms as web_forms
from ..access import org_page, render_page


class ReportForm(djforms.Form):
    date_from = djforms.DateField(
        required=False, widget=djforms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = djforms.DateField(
        required=False, widget=djforms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    currency = djforms.ChoiceField(required=False, label="In")


def _range(request: HttpRequest, org: OrgContext) -> tuple[ReportForm, date, date, str]:
    today = timezone.localdate()
    default_from = (today.replace(day=1) - timedelta(days=150)).replace(day=1)
    organization = org.organization
    form = ReportForm(request.GET or None)
    usual = reporting_currency(organization=organization)
    codes = {usual, organization.default_currency}
    codes |= {a.currency for a in selectors.account_list(organization=organization)}
    asked = request.GET.get("currency", "")
    if is_currency(asked):  # any ISO 4217 currency may be asked for, held or not
        codes.add(asked)
    web_forms.set_choices(form, "currency", [(c, c) for c in sorted(codes)])
    form.fields["currency"].initial = usual
    start, end, currency = default_from, today, usual
    if form.is_bound and form.is_valid():
        start = form.cleaned_data["date_from"] or start
        end = form.cleaned_data["date_to"] or end
        currency = form.cleaned_data["currency"] or currency
    return form, start, end, currency


def _converted(org: OrgContext, name: str, params: dict[str, Any], compute: Any) -> Any:
    """A converted report, cached like the API's (rate writes bump the ledger version)."""
    key = params | {"max_rate_age_days": org.organization.max_rate_age_days}
    return report_cached(org.organization, f"web-{name}", key, compute)


def _spending(org: OrgContext, start: date, end: date, currency: str) -> dict[str, Any]:
    """Money out per top-level category (children rolled up), converted into ``currency``."""
    params: dict[str, Any] = {"date_from": start, "date_to": end, "currency": currency}
    data = _converted(
        org, "categories", params,
        lambda: category_totals_converted(organization=org.organization, explain=False, **params),
    )  # fmt: skip
    cats = {c.pk: c for c in selectors.category_list(organization=org.organization)}

    def root(cid: int | None) -> str:
        c = cats.get(cid or 0)
        while c is not None and c.parent_id is not None:
            c = cats.get(c.parent_id)
        return c.name if c is not None else "Uncategorised"

    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in data["rows"]:
        spent = -Decimal(row["spending"])  # money out, whatever came in under the category
        if spent:
            totals[root(row["category"])] += spent
    rows = [
        {"name": n, "total": t, "currency": currency}
        for n, t in sorted(totals.items(), key=lambda kv: -kv[1])
    ]
    return {"rows": rows, "unconverted": data["unconverted"]}


def _by_currency(org: OrgContext, start: date, end: date) -> list[dict[str, Any]]:
    """Money in and out in each currency as booked, before any conversion."""
    params = {"date_from": start, "date_to": end}
    data = report_cached(
        org.organization,
        "category_totals_in_out",  # income and spending apart
        params,
        lambda: category_totals(organization=org.organization, **params),
    )
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in data["rows"]:
        sums[row["currency"]][0] += Decimal(row["income"])
        sums[row["currency"]][1] += Decimal(row["spending"])
    return [
        {"currency": c, "income": i, "spending": s, "net": i + s}
        for c, (i, s) in sorted(sums.items())
    ]


def _monthly(start: date, end: date, currency: str) -> dict[str, Any]:
    """The monthly series' parameters, in the reporting currency (cash flow, net worth)."""
    return {"date_from": start, "date_to": end, "period": "month", "currency": currency}


def _flow(org: OrgContext, start: date, end: date, currency: str) -> dict[str, Any]:
    params = _monthly(start, end, currency)
    data = _converted(
        org, "cashflow", params,
        lambda: cash_flow_converted(
            organization=org.organization, include_transfers=False, explain=False, **params
        ),
    )  # fmt: skip
    rows = [dict(r) | {"currency": currency} for r in data["rows"]]
    return {"rows": rows, "unconverted": data["unconverted"]}


def _worth(org: OrgContext, start: date, end: date, currency: str) -> dict[str, Any]:
    params = _monthly(start, end, currency)
    data = _converted(
        org, "net-worth", params,
        lambda: net_worth(organization=org.organization, explain=False, **params),
    )  # fmt: skip
    return dict(data)


@org_page()
def reports(request: HttpRequest, org: OrgContext) -> HttpResponse:
    form, start, end, currency = _range(request, org)
    spending = _spending(org, start, end, currency)
    flow = _flow(org, start, end, currency)
    if request.GET.get("csv") in ("spending", "flow"):
        return _csv(org, request.GET["csv"], spending["rows"], flow["rows"])
    worth = _worth(org, start, end, currency)
    spend_chart = charts.bars([(r["name"], r["total"], "cat") for r in spending["rows"][:12]])
    flow_groups = [
        (r["period"][:7], [(Decimal(r["inflow"]), "in"), (Decimal(r["outflow"]), "out")])
        for r in flow["rows"]
    ]
    worth_series = [(r["date"][:7], Decimal(r["net_worth"]), "cat") for r in worth["rows"]]
    unconverted = {(u["currency"], u["date"], u["status"]): u for u in spending["unconverted"]}
    unconverted |= {(u["currency"], u["date"], u["status"]): u for u in flow["unconverted"]}
    context = {
        "nav": "reports",
        "form": form,
        "spending": spending["rows"],
        "flow": flow["rows"],
        "worth": worth["rows"],
        "by_currency": _by_currency(org, start, end),
        "unconverted": [unconverted[k] for k in sorted(unconverted)],
        "max_rate_age_days": org.organization.max_rate_age_days,
        "spend_chart": spend_chart,
        "flow_chart": charts.grouped_bars(flow_groups),
        "worth_chart": charts.bars(worth_series),
        "currency": currency,
        "query": request.GET.urlencode(),
    }
    return render_page(request, "web/reports.html", context)


def _csv(
    org: OrgContext, which: str, spending: list[dict[str, Any]], flow: list[dict[str, Any]]
) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{org.organization.slug}-{which}.csv"'
    rows: list[list[Cell]]
    if which == "spending":
        rows = [["category", "currency", "spent"]]
        rows += [[r["name"], r["currency"], Decimal(r["total"])] for r in spending]
    else:
        rows = [["month", "currency", "inflow", "outflow", "net"]]
        rows += [
            [r["period"][:7], r["currency"], *(Decimal(r[k]) for k in ("inflow", "outflow", "net"))]
            for r in flow
        ]
    write_csv_rows(response, rows)  # category names are free text: neutralised there
    return response
