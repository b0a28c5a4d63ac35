"""Export tasks (default ``celery`` queue). They carry only the job id."""

from celery import shared_task
from django.conf import settings

from .services import export_job_run, export_jobs_reap


@shared_task(
    name="kore.exports.tasks.run_export",
    time_limit=settings.KORE_EXPORT_TIME_LIMIT,
    soft_time_limit=settings.KORE_EXPORT_TIME_LIMIT - 30,
)
def run_export(job_id: int) -> None:
    export_job_run(job_id=job_id)


# Every five minutes from beat (kore/exports/migrations/0002_reaper_schedule.py).
@shared_task(name="kore.exports.reap_stale")
def reap_stale_exports() -> int:
    reaped = export_jobs_reap()
    return len(reaped["failed"]) + len(reaped["requeued"]) + len(reaped["resent"])
