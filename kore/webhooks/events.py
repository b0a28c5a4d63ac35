"""What Kore tells webhook endpoints, and the one way to publish it.

Other apps call ``publish(organization, event_type, payload)`` for events that are not
transaction changes (an import finished, an export is ready, a budget crossed a threshold). It
writes one ``WebhookEvent`` row and one pending delivery per subscribed endpoint in the caller's
transaction, and wakes the worker once that commits: a rolled-back write publishes nothing.

Transaction events need no call: they are read from the ledger's change feed
(``kore.ledger.feed``) after every ledger commit. Several rows can share one change number (a
bulk write), so their event id is ``chg_<change number>_<transaction id>``; other events are
``evt_<event row id>``. Either way a receiver drops duplicates by id.
"""

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from kore.core.pagination import cursor_encode
from kore.orgs.models import Organization

from .models import WebhookDelivery, WebhookEndpoint, WebhookEvent

TRANSACTION_CREATED = "transaction.created"
TRANSACTION_UPDATED = "transaction.updated"
TRANSACTION_DELETED = "transaction.deleted"
IMPORT_FINISHED = "import.finished"
IMPORT_FAILED = "import.failed"
BUDGET_THRESHOLD = "budget.threshold"
EXPORT_READY = "export.ready"

TRANSACTION_TYPES = (TRANSACTION_CREATED, TRANSACTION_UPDATED, TRANSACTION_DELETED)
PUBLISHED_TYPES = (IMPORT_FINISHED, IMPORT_FAILED, BUDGET_THRESHOLD, EXPORT_READY)
EVENT_TYPES = (*TRANSACTION_TYPES, *PUBLISHED_TYPES)

FAN_OUT_BATCH = 500
# A feed position (change number, LAST_ID) is after every row of that change number.
LAST_ID = 2**63 - 1


def publish(
    organization: Organization, event_type: str, payload: Mapping[str, Any]
) -> WebhookEvent:
    """Record an event and queue it for every active endpoint of ``organization`` that wants
    ``event_type``; the worker starts sending when the caller's transaction commits.

    ``payload`` is the event's ``data``: JSON values, plus ``Decimal`` (sent as a string, as the
    API writes money), dates and datetimes. An unknown type is a programming error (ValueError).
    """
    if event_type not in PUBLISHED_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    data = json.loads(json.dumps(dict(payload), cls=DjangoJSONEncoder))
    with transaction.atomic():
        event = WebhookEvent.objects.create(
            organization=organization, type=event_type, payload=data
        )
        endpoints = [e for e in _active_endpoints(organization.pk) if event_type in e.event_types]
        if endpoints:
            WebhookDelivery.objects.bulk_create(
                _delivery(e, f"evt_{event.pk}", event_type, data, event.created_at)
                for e in endpoints
            )
            deliveries_wake_on_commit()
    return event


WAKE_KEY = "webhooks:wake"
WAKE_SECONDS = 60  # beat sends what is due every minute anyway


def deliveries_wake_on_commit() -> None:
    """Have the worker send what is due once the current transaction commits."""
    transaction.on_commit(deliveries_wake, robust=True)


def deliveries_wake() -> None:
    """Send the delivery task unless one is already waiting to start: it clears the mark before
    it claims anything, so a row committed before that is claimed by it and a row committed
    after sends a new task. Without the cache (an outage) every wake sends one."""
    from .tasks import deliver_due

    if cache.add(WAKE_KEY, 1, timeout=WAKE_SECONDS) is not False:
        deliver_due.delay()


def ledger_changed_on_commit(*, organization_id: int) -> None:
    """Called by every ledger write: once it commits, queue its transaction events (only when
    the organisation has an endpoint that wants them)."""
    transaction.on_commit(
        lambda: transaction_events_wake(organization_id=organization_id), robust=True
    )


def transaction_events_wake(*, organization_id: int) -> None:
    from .tasks import queue_transaction_events

    if any(_wants_transactions(e) for e in _active_endpoints(organization_id)):
        queue_transaction_events.delay(organization_id)


def transaction_events_queue(*, organization_id: int) -> int:
    """Queue a delivery for each change in the feed after each endpoint's position; returns how
    many. Safe to run twice at once: each endpoint's position moves under its row lock."""
    queued = 0
    for endpoint in _active_endpoints(organization_id):
        if _wants_transactions(endpoint):
            more = True
            while more:
                added, more = _queue_changes_batch(endpoint_id=endpoint.pk)
                queued += added
    return queued


def _queue_changes_batch(*, endpoint_id: int) -> tuple[int, bool]:
    """One batch of the feed for one endpoint: deliveries queued, and whether more changes wait."""
    from kore.ledger.feed import CursorExpired, transaction_changes
    from kore.ledger.services.state import ledger_version
    from kore.ledger.transaction_list import row_json

    with transaction.atomic():
        endpoint = (
            WebhookEndpoint.objects.select_for_update()
            .select_related("organization")
            .filter(pk=endpoint_id, is_active=True)
            .first()
        )
        if endpoint is None:
            return 0, False
        org = endpoint.organization
        cursor = cursor_encode([endpoint.tx_seq, endpoint.tx_id], scope=f"changes:{org.pk}")
        try:
            rows, _, more = transaction_changes(
                organization=org, cursor=cursor, limit=FAN_OUT_BATCH
            )
        except CursorExpired:
            # Down longer than the tombstone retention: the gap cannot be replayed, go on from now.
            endpoint.tx_seq, endpoint.tx_id = ledger_version(organization=org), LAST_ID
            endpoint.save(update_fields=["tx_seq", "tx_id"])
            return 0, False
        if not rows:
            return 0, False
        deliveries = []
        for row in rows:
            event_type = _change_type(row)
            if event_type in endpoint.event_types:
                data = {"id": row["id"]} if row["deleted_at"] else row_json(row)
                data = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
                event_id = f"chg_{row['change_seq']}_{row['id']}"
                deliveries.append(
                    _delivery(endpoint, event_id, event_type, data, row["updated_at"])
                )
        WebhookDelivery.objects.bulk_create(deliveries)
        endpoint.tx_seq, endpoint.tx_id = rows[-1]["change_seq"], rows[-1]["id"]
        endpoint.save(update_fields=["tx_seq", "tx_id"])
        if deliveries:
            deliveries_wake_on_commit()
    return len(deliveries), more


def _change_type(row: Mapping[str, Any]) -> str:
    if row["deleted_at"]:
        return TRANSACTION_DELETED
    return TRANSACTION_CREATED if row["version"] == 1 else TRANSACTION_UPDATED


def _wants_transactions(endpoint: WebhookEndpoint) -> bool:
    return any(t in endpoint.event_types for t in TRANSACTION_TYPES)


def _active_endpoints(organization_id: int) -> list[WebhookEndpoint]:
    # event_types is filtered in Python: SQLite (the embedded runtime) has no JSON containment.
    return list(WebhookEndpoint.objects.filter(organization_id=organization_id, is_active=True))


def delivery_window_end() -> datetime:
    return timezone.now() + timedelta(hours=settings.KORE_WEBHOOK_RETRY_HOURS)


def _delivery(
    endpoint: WebhookEndpoint,
    event_id: str,
    event_type: str,
    data: dict[str, Any],
    created_at: datetime,
) -> WebhookDelivery:
    return WebhookDelivery(
        endpoint=endpoint,
        event_id=event_id,
        event_type=event_type,
        payload=data,
        event_created_at=created_at,
        next_attempt_at=timezone.now(),
        give_up_at=delivery_window_end(),
    )
