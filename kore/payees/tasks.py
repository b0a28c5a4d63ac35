"""Rule runs (default ``celery`` queue). Tasks carry only the run id."""

from celery import shared_task

from .runs import rule_run_execute


@shared_task(name="kore.payees.tasks.run_rule", time_limit=900, soft_time_limit=870)
def run_rule(run_id: int) -> None:
    rule_run_execute(run_id=run_id)
