"""Budgets (progress bars) and schedules (upcoming dates, missed bills, the cash-flow forecast)."""

from typing import Any

from django.http import HttpRequest, HttpResponse

from kore.orgs.scoping import OrgContext
from kore.orgs.selectors import organization_today
from kore.planning import selectors
from kore.planning.budgets import budget_progress
from kore.planning.serializers import progress_data

from .access import org_page, render_page


@org_page()
def budgets(request: HttpRequest, org: OrgContext) -> HttpResponse:
    today = organization_today(organization=org.organization)
    rows: list[dict[str, Any]] = []
    for budget in selectors.budget_list(organization=org.organization):
        data = progress_data(budget, budget_progress(budget=budget, on=today))
        data["name"] = budget.category.name
        data["over"] = data["left"].startswith("-")
        rows.append(data)
    return render_page(request, "web/budgets.html", {"nav": "budgets", "budgets": rows})
