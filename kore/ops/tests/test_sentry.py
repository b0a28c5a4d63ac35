"""Sentry as Kore starts it: integrations, release, environment, no personal data, secrets
scrubbed. Events go to an in-memory transport: nothing leaves the machine."""

from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.redis import RedisIntegration
from sentry_sdk.transport import Transport

from kore.ops.sentry import sentry_options

DSN = "https://0123456789abcdef@o1.ingest.example.invalid/42"


class MemoryTransport(Transport):
    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self.envelopes: list[Any] = []

    def capture_envelope(self, envelope: Any) -> None:
        self.envelopes.append(envelope)


@pytest.fixture
def sentry_events() -> Iterator[list[dict[str, Any]]]:
    options = sentry_options(
        dsn=DSN, environment="staging", release="1.2.3", traces_sample_rate=0.0
    )
    transport = MemoryTransport(options)
    sentry_sdk.init(**options, transport=transport)
    events: list[dict[str, Any]] = []
    try:
        yield events
    finally:
        sentry_sdk.flush(timeout=2)
        events.extend(
            item.payload.json
            for envelope in transport.envelopes
            for item in envelope.items
            if item.type == "event"
        )
        sentry_sdk.init(dsn=None)


def test_options_integrate_django_celery_redis_without_pii():
    options = sentry_options(
        dsn=DSN, environment="production", release="2.0", traces_sample_rate=0.1
    )
    kinds = {type(i) for i in options["integrations"]}
    assert {DjangoIntegration, CeleryIntegration, RedisIntegration} <= kinds
    assert options["send_default_pii"] is False
    assert options["release"] == "kore@2.0"
    assert options["environment"] == "production"
    assert options["traces_sample_rate"] == 0.1


def test_client_is_started_with_kores_options():
    options = sentry_options(dsn=DSN, environment="staging", release="1.2.3", traces_sample_rate=0)
    sentry_sdk.init(**options, transport=MemoryTransport(options))
    try:
        client = sentry_sdk.get_client()
        assert client.is_active()
        assert client.options["release"] == "kore@1.2.3"
        assert client.options["environment"] == "staging"
        assert client.options["send_default_pii"] is False
        installed = set(client.integrations)
        assert {"django", "celery", "redis"} <= installed
    finally:
        sentry_sdk.init(dsn=None)


def test_event_carries_release_and_environment_and_no_secret(sentry_events):
    token = "kore_0a1b2c3d_" + "s" * 40
    sentry_sdk.set_context("request_headers", {"Authorization": f"Bearer {token}"})
    try:
        raise RuntimeError(f"upstream refused password=Sw0rdfish-77 with {token}")
    except RuntimeError as exc:
        sentry_sdk.capture_exception(exc)
    sentry_sdk.flush(timeout=2)
    sentry_sdk.get_client().flush(timeout=2)
    # the fixture collects at teardown; read the transport now through the client
    client = sentry_sdk.get_client()
    envelopes = client.transport.envelopes  # type: ignore[union-attr]
    events = [i.payload.json for e in envelopes for i in e.items if i.type == "event"]
    assert len(events) == 1
    event = events[0]
    assert event["release"] == "kore@1.2.3"
    assert event["environment"] == "staging"
    text = str(event)
    assert "Sw0rdfish-77" not in text
    assert "s" * 40 not in text
    assert "[REDACTED]" in text
    assert "user" not in event or "ip_address" not in event.get("user", {})


RESET_QUERY = "uid=MQ&token=c8x-0123456789abcdef0123"
INVITE_LINK = "https://kore.test/invitations/accept/?token=inv-fedcba9876543210fedc"


def _request_event() -> dict[str, Any]:
    """An error event as the Django integration builds it for a reset link's page."""
    return {
        "level": "error",
        "request": {
            "url": "https://kore.test/password-reset/confirm/",
            "method": "GET",
            "query_string": RESET_QUERY,
            "headers": {"Referer": INVITE_LINK, "Host": "kore.test"},
        },
        "breadcrumbs": {"values": [{"category": "httplib", "data": {"url": INVITE_LINK}}]},
        "exception": {
            "values": [
                {
                    "type": "RuntimeError",
                    "stacktrace": {
                        "frames": [
                            {
                                "function": "password_reset_confirm",
                                "vars": {
                                    "token": "'c8x-0123456789abcdef0123'",
                                    "request": "<WSGIRequest: GET '/password-reset/confirm/?"
                                    + RESET_QUERY
                                    + "'>",
                                },
                            }
                        ]
                    },
                }
            ]
        },
    }


def test_before_send_keeps_email_link_tokens_out_of_an_event():
    options = sentry_options(dsn=DSN, environment="test", release="1", traces_sample_rate=0)
    event = options["before_send"](_request_event(), {})
    text = str(event)
    assert "0123456789abcdef0123" not in text
    assert "fedcba9876543210fedc" not in text
    assert event["request"]["url"] == "https://kore.test/password-reset/confirm/"


def test_before_send_transaction_keeps_email_link_tokens_out_of_a_transaction():
    options = sentry_options(dsn=DSN, environment="test", release="1", traces_sample_rate=1.0)
    event = {**_request_event(), "type": "transaction", "transaction": "/password-reset/confirm/"}
    scrubbed = options["before_send_transaction"](event, {})
    assert "0123456789abcdef0123" not in str(scrubbed)


@pytest.mark.django_db
def test_a_reset_link_request_sends_no_token_to_sentry():
    """Through Django's WSGI handler, which the integration traces (the test client is not)."""
    from wsgiref.util import setup_testing_defaults

    from django.core.handlers.wsgi import WSGIHandler

    options = sentry_options(dsn=DSN, environment="test", release="1", traces_sample_rate=1.0)
    transport = MemoryTransport(options)
    sentry_sdk.init(**options, transport=transport)
    environ = {"PATH_INFO": "/password-reset/confirm/", "QUERY_STRING": RESET_QUERY}
    environ["HTTP_HOST"] = "testserver"
    setup_testing_defaults(environ)
    statuses: list[str] = []
    try:
        body = WSGIHandler()(environ, lambda status, headers: statuses.append(status))
        b"".join(body)
        body.close()
        sentry_sdk.flush(timeout=2)
    finally:
        sentry_sdk.init(dsn=None)
    assert statuses == ["200 OK"]
    payloads = [i.payload.json for e in transport.envelopes for i in e.items]
    assert any(p.get("type") == "transaction" for p in payloads)
    assert "0123456789abcdef0123" not in str(payloads)
