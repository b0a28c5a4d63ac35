"""Planning tasks, run by beat: budget alerts, and the schedules' due dates."""

from celery import shared_task

from .services import budgets_alerts_check_all


@shared_task(name="kore.planning.check_budgets")
def check_budgets() -> int:
    return budgets_alerts_check_all()
