"""Import test fixtures: files, an account, and a real Celery worker on the test database.

The worker is a separate process (``celery -A config.celery_app worker -Q imports,celery``) with
DATABASE_URL pointing at pytest-django's ``test_<name>`` database and its own broker (Redis db 11,
or KORE_TEST_IMPORT_BROKER) so no other worker consumes the test's messages. Tests that use it need
``django_db(transaction=True)``: the worker only sees committed rows.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import kombu.pools
import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from config.celery_app import app as celery_app
from kore.imports.models import ImportJob
from kore.ledger.tests.factories import AccountFactory

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[3]
TERMINAL = ("done", "failed", "cancelled")


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def upload(name: str, data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, fixture_bytes(name) if data is None else data)


def wait_for(job_id: int, timeout: float = 60, statuses: tuple[str, ...] = TERMINAL) -> ImportJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = ImportJob.objects.get(pk=job_id)
        if job.status in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {ImportJob.objects.get(pk=job_id).status}")


@pytest.fixture
def account(world):
    return AccountFactory(organization=world.org, currency="EUR")


def _broker_url() -> str:
    """Redis db 11 of REDIS_URL's server; KORE_TEST_IMPORT_BROKER names another one, so that two
    test runs on one machine do not consume each other's messages."""
    if own := os.environ.get("KORE_TEST_IMPORT_BROKER"):
        return own
    parts = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1"))
    return urlunsplit(parts._replace(path="/11"))


def _test_database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Worker:
    """A real worker process; ``kill9()`` then ``start()`` simulates a crash and a restart."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        # One log per worker: several run at once (imports, webhooks, email), each waits for its
        # own "ready." line.
        self.log = Path(f"/tmp/kore-test-worker-{os.getpid()}-{time.monotonic_ns()}.log")  # noqa: S108

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config.celery_app",
            "worker",
            "-Q",
            "imports,celery",
            "--concurrency",
            "1",
            "--pool",
            "prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"imports-test-{os.getpid()}-{time.monotonic_ns()}@%h",
            "-l",
            "INFO",
        ]
        self.log.write_bytes(b"")
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if b"ready." in self.log.read_bytes():
                return
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            time.sleep(0.2)
        raise AssertionError("the worker did not start: " + self.log.read_text()[-3000:])

    def kill9(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)  # the main process and its pool child
        self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self.process = None


def _use_broker(url: str | None) -> None:
    """Point this process's producer at ``url``.

    Celery reads ``CELERY_BROKER_URL`` from the environment before its own settings. kombu keeps
    its connection and producer pools in a process-wide registry keyed by URL: reset the registry,
    so that switching to another broker and back never hands out a pool closed on the way."""
    if url == os.environ.get("CELERY_BROKER_URL"):
        return
    if url is None:
        os.environ.pop("CELERY_BROKER_URL", None)
    else:
        os.environ["CELERY_BROKER_URL"] = url
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def worker_running(broker: str, *, send_here: bool = True, **extra_env: str) -> Iterator[Worker]:
    """A real worker on the test database reading ``broker`` (emptied first); with ``send_here``
    this process sends to it meanwhile. ``extra_env`` adds settings for the worker alone.

    A worker that lives for the whole session passes ``send_here=False`` and its test fixture
    points the producer at it for each test (``sending_to``): a session-long switch would send
    every later test's tasks to that worker, whichever worker the test asked for."""
    redis.Redis.from_url(broker).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        **extra_env,
    }
    worker = Worker(env)
    worker.start()
    try:
        if send_here:
            with sending_to(broker):
                yield worker
        else:
            yield worker
    finally:
        worker.stop()


@contextmanager
def sending_to(broker: str) -> Iterator[None]:
    """This process's tasks go to ``broker`` until the block ends."""
    previous = os.environ.get("CELERY_BROKER_URL")
    _use_broker(broker)
    try:
        yield
    finally:
        _use_broker(previous)
