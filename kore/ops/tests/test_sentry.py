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
