"""``celery worker --beat-thread``: the schedule runs inside the worker's own process.

A real worker process on the test database and its own Redis broker database: a schedule entry
every second is sent by the in-process beat and run by the same worker, and the worker has no
child process (``--beat`` forks a second full-size Python process for the scheduler).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil
import pytest
from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.django_db(transaction=True)  # the worker reads what the test wrote


def _worker_env() -> dict[str, str]:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    user = db.get("USER") or "postgres"
    database_url = f"postgres://{user}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    redis = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1"))
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": urlunsplit(redis._replace(path="/13")),
        "CELERY_TASK_ALWAYS_EAGER": "False",
        "KORE_LOG_FORMAT": "text",
        "DJANGO_LOG_LEVEL": "INFO",
    }


WORKER_ARGS = [
    "--pool", "threads", "--concurrency", "1", "--beat-thread",
    "--hostname", f"beat-thread-{os.getpid()}@%h",
    "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
]  # fmt: skip


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        time.sleep(0.2)
    pytest.fail(f"{text!r} not in the worker log:\n{log.read_text(errors='replace')[-3000:]}")


def test_beat_thread_schedules_and_runs_tasks_in_one_process(tmp_path):
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="probe: flush tokens", task="kore.ops.flush_expired_tokens", interval=every_second
    )
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(  # our own interpreter and app
            [sys.executable, "-m", "celery", "--app", "config.celery_app", "worker", *WORKER_ARGS],
            cwd=ROOT,
            env=_worker_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(log, "Sending due task probe: flush tokens", worker, timeout=90)
        _wait_for(log, "kore.ops.flush_expired_tokens", worker, timeout=30)
        _wait_for(log, "succeeded", worker, timeout=30)
        assert psutil.Process(worker.pid).children(recursive=True) == []
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
