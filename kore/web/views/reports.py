"""Reports (spending by category, cash flow, net worth in one currency, every currency as
booked) as SVG + table + CSV; imports with live progress."""

import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django import forms as djforms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from kore.core.exceptions import KoreError
from kore.core.money import is_currency
from kore.exports.sheets import Cell, write_csv_rows
from kore.fx.conversion import reporting_currency
from kore.imports import services as import_services
from kore.imports.apis import ImportJobSummary, MappingInput
from kore.imports.models import ImportJob
from kore.imports.readers.csv_reader import LOCALES, ROLES
from kore.imports.selectors import import_job_get, import_job_page
from kore.ledger import selectors
from kore.orgs.scoping import OrgContext
from kore.reports.converted import cash_flow_converted, category_totals_converted, net_worth
from kore.reports.selectors import category_totals, report_cached

from .. import charts
from .. import forms as web_forms
from ..access import HtmxHttpRequest, error_page, org_page, render_page


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


def _flow(org: OrgContext, start: date, end: date, currency: str) -> dict[str, Any]:
    params: dict[str, Any] = {
        "date_from": start,
        "date_to": end,
        "period": "month",
        "currency": currency,
    }
    data = _converted(
        org, "cashflow", params,
        lambda: cash_flow_converted(
            organization=org.organization, include_transfers=False, explain=False, **params
        ),
    )  # fmt: skip
    rows = [dict(r) | {"currency": currency} for r in data["rows"]]
    return {"rows": rows, "unconverted": data["unconverted"]}


def _worth(org: OrgContext, start: date, end: date, currency: str) -> dict[str, Any]:
    params: dict[str, Any] = {
        "date_from": start,
        "date_to": end,
        "period": "month",
        "currency": currency,
    }
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


# --- Imports ----------------------------------------------------------------------------------
MAPPING_ROLES = ROLES  # every column role a mapping names


class ImportForm(djforms.Form):
    account = djforms.TypedChoiceField(coerce=int)
    file = djforms.FileField()
    dry_run = djforms.BooleanField(
        required=False, initial=True, label="Dry run (check every row, write nothing)"
    )
    mode = djforms.ChoiceField(
        choices=ImportJob.Mode.choices, initial=ImportJob.Mode.ALL_OR_NOTHING
    )
    locale = djforms.ChoiceField(
        choices=[("", "Detect"), *((code, code) for code in sorted(LOCALES))],
        required=False,
        label="Locale (date order, decimal mark) when Kore cannot tell",
    )


@org_page()
def imports(request: HttpRequest, org: OrgContext) -> HttpResponse:
    accounts = list(selectors.account_list(organization=org.organization))
    form = ImportForm(request.POST or None, request.FILES or None)
    web_forms.set_choices(form, "account", web_forms.account_choices(accounts, None))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            mapping = {
                r: request.POST[f"map_{r}"] for r in MAPPING_ROLES if request.POST.get(f"map_{r}")
            }
            if form.cleaned_data.get("locale"):
                mapping["locale"] = form.cleaned_data["locale"]
            checked = MappingInput(data=mapping)
            if mapping and not checked.is_valid():
                form.add_error(
                    None, "The column mapping is not valid: " + json.dumps(checked.errors)
                )
            else:
                try:
                    job = import_services.import_job_create(
                        ctx=org,
                        file=form.cleaned_data["file"],
                        account=form.cleaned_data["account"],
                        mapping=dict(checked.validated_data) if mapping else None,
                        mode=form.cleaned_data["mode"],
                        dry_run=form.cleaned_data["dry_run"],
                    )
                except KoreError as exc:
                    web_forms.apply_error(form, exc)
                    status = exc.status_code
                else:
                    return redirect("web:import", org.organization.slug, job.pk)
    jobs, _ = import_job_page(organization=org.organization, cursor=None, limit=20)
    context = {
        "nav": "imports",
        "form": form,
        "jobs": jobs,
        "roles": MAPPING_ROLES,
        "has_accounts": bool(accounts),
    }
    return render_page(request, "web/imports.html", context, status=status)


@org_page()
def import_detail(request: HtmxHttpRequest, org: OrgContext, job_id: int) -> HttpResponse:
    job = import_job_get(organization=org.organization, job_id=job_id)
    if job is None:
        return error_page(request, 404, "There is no such import.")
    summary = ImportJobSummary(job).data
    context = {
        "nav": "imports",
        "job": job,
        "summary": summary,
        "active": job.status in ImportJob.ACTIVE,
    }
    template = "web/_import_status.html" if request.htmx else "web/import_detail.html"
    return render_page(request, template, context)


@org_page()
def import_cancel(request: HttpRequest, org: OrgContext, job_id: int) -> HttpResponse:
    if request.method != "POST":
        return error_page(request, 405, "Use the button.")
    try:
        import_services.import_job_cancel(ctx=org, job_id=job_id)
    except KoreError as exc:
        messages.error(request, exc.message)
    return redirect("web:import", org.organization.slug, job_id)


@org_page()
def import_promote(request: HttpRequest, org: OrgContext, job_id: int) -> HttpResponse:
    """A passed dry run, imported for real from the file it checked (no new upload)."""
    if request.method != "POST":
        return error_page(request, 405, "Use the button.")
    try:
        job = import_services.import_job_promote(ctx=org, job_id=job_id)
    except KoreError as exc:
        messages.error(request, exc.message)
        return redirect("web:import", org.organization.slug, job_id)
    return redirect("web:import", org.organization.slug, job.pk)
