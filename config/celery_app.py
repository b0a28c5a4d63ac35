"""The Celery application: `celery -A config.celery_app worker|beat`.

Settings come from Django settings (``CELERY_*``). Production and the native stack use Redis.
The embedded runtime (`make run`, config/settings/local.py) uses message files under var/broker/
(kore/ops/broker.py) and runs one worker with ``--beat-thread`` beside Gunicorn. With no broker at
all (``make run-dev``, or production settings without ``CELERY_BROKER_URL``) tasks run eagerly,
in the process that sends them.
"""

import os
from typing import Any

from celery import Celery, bootsteps
from click import Option

from kore.ops import celery_metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("kore")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class ThreadedBeat(bootsteps.StartStopStep):
    """``worker --beat-thread``: beat as a thread of the worker instead of ``--beat``'s process.

    ``--beat`` forks a second, full-size Python process for the scheduler (about 70 MB in the
    512 MB profile); a thread costs a few. The schedule, its database scheduler and the
    single-beat PostgreSQL lock are the same. For one small worker per host, not for scaled
    workers: only one beat may run per environment (the lock makes any other wait).
    """

    label = "Beat (thread)"
    conditional = True

    def __init__(self, worker: Any, beat_thread: bool = False, **kwargs: Any) -> None:
        self.enabled = bool(beat_thread)
        super().__init__(worker, **kwargs)

    def create(self, worker: Any) -> Any:
        from celery.beat import EmbeddedService

        return EmbeddedService(
            worker.app,
            thread=True,
            schedule_filename=worker.schedule_filename,
            scheduler_cls=worker.scheduler,
        )


app.user_options["worker"].add(
    Option(
        ("--beat-thread",),
        is_flag=True,
        default=False,
        help="Run beat as a thread of this worker (one process less than --beat).",
    )
)
app.steps["worker"].add(ThreadedBeat)

# Metrics for Prometheus: the pool's processes in multiprocess mode (kore.ops.celery_metrics).
celery_metrics.connect()
