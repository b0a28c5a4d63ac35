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
    path(f"{P}schedules/", apis.ScheduleListCreateApi.as_view(), name="schedule-list"),
    path(
        f"{P}schedules/<id:schedule_id>/",
        apis.ScheduleDetailApi.as_view(),
        name="schedule-detail",
    ),
    path(
        f"{P}schedules/<id:schedule_id>/occurrences/",
        apis.ScheduleOccurrencesApi.as_view(),
        name="schedule-occurrences",
    ),
    path(f"{P}forecast/", apis.ForecastApi.as_view(), name="forecast"),
]
