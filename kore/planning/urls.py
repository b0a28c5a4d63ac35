from django.urls import path

from . import apis

P = "orgs/<slug:org_slug>/"

urlpatterns = [
    path(f"{P}budgets/", apis.BudgetListCreateApi.as_view(), name="budget-list"),
    path(f"{P}budgets/<id:budget_id>/", apis.BudgetDetailApi.as_view(), name="budget-detail"),
    path(
        f"{P}budgets/<id:budget_id>/progress/",
        apis.BudgetProgressApi.as_view(),
        name="budget-progress",
    ),
]
