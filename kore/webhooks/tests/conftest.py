"""Webhook test fixtures: a local receiver, and a real Celery worker allowed to reach it.

The worker is the imports tests' ``Worker`` (a separate ``celery worker`` process on the test
database) with its own broker (Redis db 13, or KORE_TEST_WEBHOOK_BROKER) and the embedded
runtime's webhook policy, so it may post to a receiver on 127.0.0.1 over plain HTTP.
"""

import os
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from kore.imports.tests.conftest import Worker, sending_to, worker_running

from .receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def local_targets(settings):
    """The embedded runtime's policy in this process: plain HTTP and private addresses."""
    settings.KORE_WEBHOOK_REQUIRE_HTTPS = False
    settings.KORE_WEBHOOK_ALLOW_PRIVATE = True
    return settings


def _broker_url() -> str:
    if own := os.environ.get("KORE_TEST_WEBHOOK_BROKER"):
        return own
    parts = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1"))
    return urlunsplit(parts._replace(path="/13"))


@pytest.fixture(scope="session")
def _webhook_worker_process(django_db_setup, django_db_blocker) -> Iterator[Worker]:
    with worker_running(
        _broker_url(),
        send_here=False,
        KORE_WEBHOOK_ALLOW_PRIVATE="true",
        KORE_WEBHOOK_REQUIRE_HTTPS="false",
        # A short lease: a killed worker's deliveries are claimed again within ~25 s.
        KORE_WEBHOOK_TIMEOUT_SECONDS="1",
    ) as worker:
        yield worker


@pytest.fixture
def webhook_worker(_webhook_worker_process: Worker) -> Iterator[Worker]:
    """The webhook tests' worker; the test's tasks go to its broker."""
    with sending_to(_webhook_worker_process.env["CELERY_BROKER_URL"]):
        yield _webhook_worker_process
