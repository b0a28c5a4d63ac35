"""Webhook tasks (default ``celery`` queue). They carry ids at most: what to send lives in rows."""

import time

from celery import shared_task
from django.core.cache import cache

from .delivery import deliveries_send_due
from .events import WAKE_KEY, transaction_events_queue

BUSY_SECONDS = 50  # then hand over to a fresh task, so no single task runs for long


@shared_task(name="kore.webhooks.deliver_due", acks_late=True)
def deliver_due() -> int:
    """Send due deliveries until none are left (or for a while; then continue in a new task).

    Sent once per commit that queued deliveries, and every minute from beat for retries
    (kore/webhooks/migrations/0002_delivery_schedule.py). Tasks running at once claim
    different rows."""
    cache.delete(WAKE_KEY)  # before claiming: a row committed from now on sends a new task
    sent, started = 0, time.monotonic()
    while batch := deliveries_send_due():
        sent += batch
        if time.monotonic() - started > BUSY_SECONDS:
            deliver_due.delay()
            break
    return sent


@shared_task(name="kore.webhooks.queue_transaction_events", acks_late=True)
def queue_transaction_events(organization_id: int) -> int:
    return transaction_events_queue(organization_id=organization_id)


@shared_task(name="kore.webhooks.queue_all_transaction_events")
def queue_all_transaction_events() -> int:
    """Every minute from beat: catches up after a lost wake-up message."""
    from .models import WebhookEndpoint

    ids = WebhookEndpoint.objects.filter(is_active=True).values_list("organization_id", flat=True)
    return sum(transaction_events_queue(organization_id=org) for org in set(ids))
