"""Many events through a real worker that is killed midway: none lost, a duplicate only for an
attempt that was in flight when it died.

500 events here; `make bench` runs the same test with KORE_WEBHOOK_LOAD_EVENTS=10000 and writes
the delivery rate to BENCH_WEBHOOKS_OUT (bench/webhooks.sh).
"""

import json
import os
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import transaction

from kore.core.testing import wait_until
from kore.webhooks.delivery import CLAIM_BATCH
from kore.webhooks.events import publish
from kore.webhooks.models import WebhookDelivery
from kore.webhooks.tasks import deliver_due

from .factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db(transaction=True)
EVENTS = int(os.environ.get("KORE_WEBHOOK_LOAD_EVENTS", "500"))


def test_events_survive_a_worker_killed_mid_delivery(webhook_worker, world, receiver):
    WebhookEndpointFactory(organization=world.org, url=receiver.url, event_types=["export.ready"])
    with transaction.atomic():  # one commit, one wake-up: the worker sees them all at once
        expected = {f"evt_{publish(world.org, 'export.ready', {'n': n}).pk}" for n in range(EVENTS)}
    started = time.monotonic()
    wait_until(
        lambda: len(receiver.requests) >= EVENTS // 3,
        timeout=60 + EVENTS / 5,  # generous: a loaded machine delivers far fewer per second
        what="a third of the events to arrive",
        interval=0.01,
    )
    before_kill = len(receiver.requests)
    first_phase = time.monotonic() - started
    webhook_worker.kill9()
    in_flight = set(
        WebhookDelivery.objects.filter(status="sending").values_list("event_id", flat=True)
    )
    webhook_worker.start()

    def all_arrived() -> bool:
        deliver_due.delay()  # what beat does every minute, more often
        return {json.loads(b)["id"] for b in receiver.bodies()} >= expected

    wait_until(all_arrived, timeout=120 + EVENTS / 5, what="every event to arrive", interval=3)
    total = time.monotonic() - started
    received = Counter(json.loads(b)["id"] for b in receiver.bodies())
    duplicates = {event_id for event_id, n in received.items() if n > 1}
    assert set(received) == expected
    assert duplicates <= in_flight  # sent twice only if its attempt was in flight at the kill
    assert len(in_flight) <= CLAIM_BATCH
    if out := os.environ.get("BENCH_WEBHOOKS_OUT"):
        Path(out).write_text(
            f"webhook events delivered: {EVENTS} to a receiver on 127.0.0.1, one worker "
            f"(prefork, concurrency 1, 8 sender threads)\n"
            f"before the kill: {before_kill} in {first_phase:.1f} s = "
            f"{before_kill / first_phase:.0f} deliveries/s\n"
            f"all, worker killed (SIGKILL) and restarted midway: {total:.1f} s; "
            f"in flight at the kill: {len(in_flight)}, delivered twice: {len(duplicates)}, "
            f"lost: {len(expected - set(received))}\n"
        )
