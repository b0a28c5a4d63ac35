"""Import tasks. They carry only the job id; the row holds everything else."""

from celery import shared_task
from django.conf import settings

from .services import import_job_run, import_jobs_reap


@shared_task(
    name="kore.imports.tasks.run_import",
    time_limit=settings.KORE_IMPORT_TIME_LIMIT,
    soft_time_limit=settings.KORE_IMPORT_TIME_LIMIT - 30,
)
def run_import(job_id: int) -> None:
    import_job_run(job_id=job_id)


# Not under kore.imports.tasks.*: the reaper runs on the default queue, not behind a long import.
@shared_task(name="kore.imports.reap_stale")
def reap_stale_imports() -> int:
    return len(import_jobs_reap())
