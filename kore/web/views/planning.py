"""Budgets (progress bars) and schedules (upcoming dates, missed bills, the cash-flow forecast)."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from kore.core.exceptions import KoreError
from kore.ledger import selectors as ledger_selectors
from kore.orgs.scoping import OrgContext
from kore.orgs.selectors import organization_today
from kore.planning import selectors, services
from kore.planning.budgets import budget_progress
from kore.planning.forecast import cash_flow_forecast, missed, upcoming
from kore.planning.serializers import account_forecast_data, progress_data

from .. import forms
from ..access import org_page, render_page


@org_page()
def budgets(request: HttpRequest, org: OrgContext) -> HttpResponse:
    """Each budget's period today as a progress bar, and a form to add one (members and up)."""
    categories = list(ledger_selectors.category_list(organization=org.organization))
    form = forms.BudgetForm(request.POST or None, categories=categories)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                budget = services.budget_create(ctx=org, **form.cleaned_data)
            except KoreError as exc:
                forms.apply_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, f"Budget for {budget.category.name} added.")
                return redirect("web:budgets", org.organization.slug)
    today = organization_today(organization=org.organization)
    rows: list[dict[str, Any]] = []
    for budget in selectors.budget_list(organization=org.organization):
        data = progress_data(budget, budget_progress(budget=budget, on=today))
        data["name"] = budget.category.name
        data["over"] = data["left"].startswith("-")
        rows.append(data)
    context = {"nav": "budgets", "budgets": rows, "form": form}
    return render_page(request, "web/budgets.html", context, status=status)


@org_page()
def schedules(request: HttpRequest, org: OrgContext) -> HttpResponse:
    """What is expected: the next 30 days, the bills that did not arrive, each account's
    balance over the next 90 days, and a form to add a schedule (members and up)."""
    organization = org.organization
    form = forms.ScheduleForm(
        request.POST or None,
        accounts=list(ledger_selectors.account_list(organization=organization)),
        categories=list(ledger_selectors.category_list(organization=organization)),
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.schedule_create(ctx=org, **form.cleaned_data)
            except KoreError as exc:
                forms.apply_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, "Schedule added.")
                return redirect("web:schedules", organization.slug)
    today = organization_today(organization=organization)
    names = {s.pk: s for s in selectors.schedule_list(organization=organization)}
    context = {
        "form": form,
        "nav": "schedules",
        "today": today,
        "schedules": list(names.values()),
        "upcoming": [
            {"item": item, "schedule": names.get(item.schedule or 0)}
            for item in upcoming(organization=organization, today=today, days=30)
        ],
        "missed": missed(organization=organization, today=today),
        "forecasts": [
            account_forecast_data(f)
            for f in cash_flow_forecast(organization=organization, today=today, days=90)
        ],
    }
    return render_page(request, "web/schedules.html", context, status=status)
