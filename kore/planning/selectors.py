"""Planning reads, always within one organisation."""

from django.db.models import QuerySet

from kore.orgs.models import Organization

from .models import Budget, Schedule, ScheduleOccurrence


def budget_list(*, organization: Organization) -> QuerySet[Budget]:
    return (
        Budget.objects.filter(organization=organization)
        .select_related("category", "organization")
        .order_by("category__name", "id")
    )


def budget_get(*, organization: Organization, budget_id: int) -> Budget | None:
    return budget_list(organization=organization).filter(pk=budget_id).first()


def schedule_list(*, organization: Organization) -> QuerySet[Schedule]:
    return (
        Schedule.objects.filter(organization=organization).select_related("account").order_by("id")
    )


def schedule_get(*, organization: Organization, schedule_id: int) -> Schedule | None:
    return schedule_list(organization=organization).filter(pk=schedule_id).first()


def occurrence_list(*, schedule: Schedule) -> QuerySet[ScheduleOccurrence]:
    return (
        ScheduleOccurrence.objects.filter(schedule=schedule)
        .select_related("transaction")
        .order_by("-due_on")
    )
