"""Reports (spending by category, cash flow) as SVG + table + CSV; imports with live progress."""

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
from kore.exports.sheets import Cell, write_csv_rows
from kore.imports import services as import_services
from kore.imports.apis import ImportJobSummary, MappingInput
from kore.imports.models import ImportJob
from kore.imports.readers.csv_reader import LOCALES, ROLES
from kore.imports.selectors import import_job_get, import_job_page
from kore.ledger import selectors
from kore.orgs.scoping import OrgContext
from kore.reports.selectors import cash_flow, category_totals, report_cached

from . import charts
from . import forms as web_forms
from .access import error_page, is_htmx, org_page, render_page


class ReportForm(djforms.Form):
    date_from = djforms.DateField(
        required=False, widget=djforms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = djforms.DateField(
        required=False, widget=djforms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


def _range(request: HttpRequest) -> tuple[ReportForm, date, date]:
    today = timezone.localdate()
    default_from = (today.replace(day=1) - timedelta(days=150)).replace(day=1)
    form = ReportForm(request.GET or None)
    start, end = default_from, today
    if form.is_bound and form.is_valid():
        start = form.cleaned_data["date_from"] or start
        end = form.cleaned_data["date_to"] or end
    return form, start, end


def _spending(org: OrgContext, start: date, end: date) -> list[dict[str, Any]]:
    """Money out per top-level category (children rolled up), in the default currency."""
    params = {"date_from": start, "date_to": end}
    data = report_cached(
        org.organization,
        "category_totals_in_out",  # income and spending apart
        params,
        lambda: category_totals(organization=org.organization, **params),
    )
    cats = {c.pk: c for c in selectors.category_list(organization=org.organization)}

    def root(cid: int | None) -> str:
        c = cats.get(cid or 0)
        while c is not None and c.parent_id is not None:
            c = cats.get(c.parent_id)
        return c.name if c is not None else "Uncategorised"

    currency = org.organization.default_currency
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in data["rows"]:
        spent = -Decimal(row["spending"])  # money out, whatever came in under the category
        if row["currency"] == currency and spent:
            totals[root(row["category"])] += spent
    return [
        {"name": n, "total": t, "currency": currency}
        for n, t in sorted(totals.items(), key=lambda kv: -kv[1])
    ]


def _flow(org: OrgContext, start: date, end: date) -> list[dict[str, Any]]:
    params = {"date_from": start, "date_to": end, "period": "month"}
    data = report_cached(
        org.organization,
        "cash_flow",
        params,
        lambda: cash_flow(
            organization=org.organization, date_from=start, date_to=end, period="month"
        ),
    )
    currency = org.organization.default_currency
    return [dict(r) for r in data["rows"] if r["currency"] == currency]


@org_page()
def reports(request: HttpRequest, org: OrgContext) -> HttpResponse:
    form, start, end = _range(request)
    spending, flow = _spending(org, start, end), _flow(org, start, end)
    if request.GET.get("csv") in ("spending", "flow"):
        return _csv(org, request.GET["csv"], spending, flow)
    spend_chart = charts.bars([(r["name"], r["total"], "cat") for r in spending[:12]])
    flow_series: list[tuple[str, Decimal, str]] = []
    for r in flow:
        flow_series += [
            (r["period"][:7], Decimal(r["inflow"]), "in"),
            (r["period"][:7], Decimal(r["outflow"]), "out"),
        ]
    context = {
        "nav": "reports",
        "form": form,
        "spending": spending,
        "flow": flow,
        "spend_chart": spend_chart,
        "flow_chart": charts.bars(flow_series),
        "currency": org.organization.default_currency,
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
def import_detail(request: HttpRequest, org: OrgContext, job_id: int) -> HttpResponse:
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
    template = "web/_import_status.html" if is_htmx(request) else "web/import_detail.html"
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
