"""Rule runs (default ``celery`` queue). Tasks carry only the run id."""

from celery import shared_task

from .runs import rule_run_execute, rule_runs_reap


@shared_task(name="kore.payees.tasks.run_rule", time_limit=900, soft_time_limit=870)
def run_rule(run_id: int) -> None:
    rule_run_execute(run_id=run_id)


# Every five minutes from beat (kore/payees/migrations/0002_reaper_schedule.py).
@shared_task(name="kore.payees.reap_stale")
def reap_stale_rule_runs() -> int:
    reaped = rule_runs_reap()
    return len(reaped["failed"]) + len(reaped["requeued"]) + len(reaped["resent"])
