"""A real SMTP server (aiosmtpd) on a free 127.0.0.1 port, and Kore's mail settings pointed at it.

Celery runs eagerly with ``smtp_server`` (as in the embedded runtime): ``send_email.delay`` sends
in-process, so each test sees the message arrive at the server before it asserts. ``mail_worker``
is the production path instead: a real worker process reading the broker.
"""

import email
import logging
import os
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from aiosmtpd.controller import Controller

from config.celery_app import app as celery_app

PUBLIC_URL = "https://kore.test"


class Collector:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class SmtpServer:
    """Start, stop and restart an aiosmtpd server on one fixed port."""

    def __init__(self, port: int) -> None:
        self.host, self.port = "127.0.0.1", port
        self.handler = Collector()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname=self.host, port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(e.original_content, policy=default_policy)  # type: ignore[misc]
            for e in self.handler.envelopes
        ]

    @property
    def envelopes(self) -> list[Any]:
        return self.handler.envelopes

    def wait_for(self, count: int, timeout: float = 5) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.handler.envelopes) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server(settings, monkeypatch) -> Iterator[SmtpServer]:
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-connection chatter
    server = SmtpServer(free_port())
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.KORE_PUBLIC_URL = PUBLIC_URL
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    monkeypatch.setattr(celery_app.conf, "task_eager_propagates", True)
    yield server
    server.stop()


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and HTML bodies of a multipart/alternative message."""
    assert message.get_content_type() == "multipart/alternative", message.get_content_type()
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())


def email_broker_url() -> str:
    """The broker the email tests publish to and their worker reads: Redis db 12 of REDIS_URL's
    server, or KORE_TEST_MAIL_BROKER (so two test runs on one machine do not share it); emptied
    before use. Never CELERY_BROKER_URL: the import tests' session-long worker reads that one and
    would take the email tasks and send them nowhere."""
    if own := os.environ.get("KORE_TEST_MAIL_BROKER"):
        return own
    parts = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1"))
    return urlunsplit(parts._replace(path="/12"))


@pytest.fixture(scope="module")
def mail_worker(django_db_setup, django_db_blocker) -> Iterator[SmtpServer]:
    """A real Celery worker process on the test database, sending to a real SMTP server.

    Yields the SMTP server; the worker builds every message itself from the ids it receives.
    """
    from kore.imports.tests.conftest import Worker, _test_database_url, _use_broker

    server = SmtpServer(free_port())
    server.start()
    broker = email_broker_url()
    redis.Redis.from_url(broker).flushdb()
    previous = os.environ.get("CELERY_BROKER_URL")
    _use_broker(broker)
    worker = Worker(
        {
            **os.environ,
            "DATABASE_URL": _test_database_url(),
            "CELERY_BROKER_URL": broker,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "EMAIL_URL": f"smtp://{server.host}:{server.port}",
            "KORE_PUBLIC_URL": PUBLIC_URL,
        }
    )
    worker.start()
    try:
        yield server
    finally:
        worker.stop()
        _use_broker(previous)
        server.stop()
