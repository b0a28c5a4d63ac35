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


class HeartbeatFile(bootsteps.StartStopStep):
    """Touch ``KORE_WORKER_HEARTBEAT_FILE`` every 15 s while the consumer is connected.

    A health check that only reads the file's age (``entrypoint.sh health-worker-file``) costs
    nothing, where ``celery inspect ping`` starts a second full-size Python process in the
    container (about 130 MB at its peak: more than the 512 MB profile gives a worker). The
    consumer's timer runs in its event loop and this step stops with the broker connection, so
    a hung loop or a lost broker lets the file age.
    """

    requires = ("celery.worker.consumer.tasks:Tasks",)
    interval = 15.0

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        self.path = os.environ.get("KORE_WORKER_HEARTBEAT_FILE", "")
        self.tref: Any = None
        super().__init__(parent, **kwargs)

    def start(self, parent: Any) -> None:
        if self.path:
            self.touch()
            self.tref = parent.timer.call_repeatedly(self.interval, self.touch)

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    def touch(self) -> None:
        with open(self.path, "a", encoding="ascii"):
            os.utime(self.path)


app.steps["consumer"].add(HeartbeatFile)

# Metrics for Prometheus: the pool's processes in multiprocess mode (kore.ops.celery_metrics).
celery_metrics.connect()
