"""Planning tasks, run by beat: budget alerts, and the schedules' due dates."""

from celery import shared_task

from .runs import schedule_run, schedules_run_all
from .services import budgets_alerts_check_all


@shared_task(name="kore.planning.check_budgets")
def check_budgets() -> int:
    return budgets_alerts_check_all()


@shared_task(name="kore.planning.run_schedules", acks_late=True)
def run_schedules(schedule_id: int | None = None) -> int:
    """Book, link or flag every due date; a re-delivered message books nothing twice."""
    if schedule_id is not None:
        return schedule_run(schedule_id=schedule_id)
    return schedules_run_all()
