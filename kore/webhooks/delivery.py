"""The worker's side of webhooks: claim due deliveries, send them signed, log each attempt,
retry with backoff, and disable an endpoint that keeps failing."""

import json
import random
import socket
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .signing import SIGNATURE_HEADER, signature_header
from .transport import Answer, Resolver, post

Status = WebhookDelivery.Status
CLAIM_BATCH = 50
SENDERS = 8  # requests in flight per worker process
FIRST_RETRY_SECONDS = 30
LONGEST_RETRY_SECONDS = 6 * 3600


def retry_delay(attempts: int) -> timedelta:
    """30 s after the first failure, doubling up to 6 h, each with up to 20 % less (jitter)."""
    seconds = min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LONGEST_RETRY_SECONDS)
    return timedelta(seconds=seconds * (1 - random.random() * 0.2))  # noqa: S311 - not secret


def lease_seconds(claimed: int) -> int:
    """Longer than a batch can take (each attempt at most a connect and a read timeout, SENDERS
    at once): a lease that runs out means the worker died."""
    rounds = -(-claimed // SENDERS)
    return rounds * 2 * settings.KORE_WEBHOOK_TIMEOUT_SECONDS + 10


def delivery_body(delivery: WebhookDelivery) -> bytes:
    """What the receiver gets: the same bytes for every attempt of one delivery."""
    body = {
        "id": delivery.event_id,
        "type": delivery.event_type,
        "created_at": delivery.event_created_at.isoformat().replace("+00:00", "Z"),
        "organization": delivery.endpoint.organization.slug,
        "data": delivery.payload,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def deliveries_claim(*, limit: int = CLAIM_BATCH) -> list[WebhookDelivery]:
    """Due deliveries of active endpoints, marked ``sending`` under a lease, attempt counted."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint__organization")
            .filter(
                Q(status=Status.PENDING) | Q(status=Status.SENDING, lease_until__lt=now),
                next_attempt_at__lte=now,
                endpoint__is_active=True,
            )
            .order_by("next_attempt_at", "id")[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=[r.pk for r in rows]).update(
            status=Status.SENDING,
            lease_until=now + timedelta(seconds=lease_seconds(len(rows))),
            attempts=F("attempts") + 1,
        )
    for row in rows:
        row.attempts += 1
    return rows


def delivery_attempt(delivery: WebhookDelivery, *, resolver: Resolver) -> Answer:
    """Send one delivery once; no database access (it runs in a sender thread)."""
    body = delivery_body(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Kore-Webhooks/1",
        "Kore-Event-Id": delivery.event_id,
        "Kore-Event-Type": delivery.event_type,
        SIGNATURE_HEADER: signature_header(secret=delivery.endpoint.secret, body=body),
    }
    return post(
        delivery.endpoint.url,
        body=body,
        headers=headers,
        allow_private=settings.KORE_WEBHOOK_ALLOW_PRIVATE,
        timeout=settings.KORE_WEBHOOK_TIMEOUT_SECONDS,
        resolver=resolver,
    )


def deliveries_send_due(*, limit: int = CLAIM_BATCH, resolver: Resolver | None = None) -> int:
    """Claim one batch, send it (several at once) and record the outcome; returns the count."""
    claimed = deliveries_claim(limit=limit)
    if not claimed:
        return 0
    resolve = resolver or socket.getaddrinfo
    started = timezone.now()
    with ThreadPoolExecutor(max_workers=min(SENDERS, len(claimed))) as pool:
        answers = list(pool.map(lambda d: delivery_attempt(d, resolver=resolve), claimed))
    deliveries_record(claimed, answers, started_at=started)
    return len(claimed)


def deliveries_record(
    deliveries: Sequence[WebhookDelivery], answers: Sequence[Answer], *, started_at: datetime
) -> None:
    """Log each attempt and move each delivery on: delivered, retried later, or failed."""
    now = timezone.now()
    WebhookAttempt.objects.bulk_create(
        WebhookAttempt(
            delivery=d,
            started_at=started_at,
            status_code=a.status_code,
            latency_ms=a.latency_ms,
            error=a.error,
        )
        for d, a in zip(deliveries, answers, strict=True)
    )
    succeeded: dict[int, list[int]] = {}
    failing: set[int] = set()
    for delivery, answer in zip(deliveries, answers, strict=True):
        if answer.ok:
            succeeded.setdefault(answer.status_code or 200, []).append(delivery.pk)
            continue
        failing.add(delivery.endpoint_id)
        gave_up = now >= delivery.give_up_at
        WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(
            status=Status.FAILED if gave_up else Status.PENDING,
            next_attempt_at=now + retry_delay(delivery.attempts),
            lease_until=None,
            last_status_code=answer.status_code,
            last_error=answer.error or "http_status",
        )
    for code, ids in succeeded.items():
        WebhookDelivery.objects.filter(pk__in=ids, status=Status.SENDING).update(
            status=Status.DELIVERED, delivered_at=now, lease_until=None,
            last_status_code=code, last_error="",
        )  # fmt: skip
    healthy = {d.endpoint_id for d, a in zip(deliveries, answers, strict=True) if a.ok} - failing
    WebhookEndpoint.objects.filter(pk__in=healthy, failing_since__isnull=False).update(
        failing_since=None
    )
    WebhookEndpoint.objects.filter(pk__in=failing, failing_since__isnull=True).update(
        failing_since=now
    )
    endpoints_disable_failing(endpoint_ids=failing)


def endpoints_disable_failing(*, endpoint_ids: set[int]) -> list[int]:
    """Disable the endpoints among these that have failed for longer than the limit, and email
    their organisation's admins; returns the ids disabled."""
    from kore.notifications.services import webhook_disabled_email_enqueue

    hours = settings.KORE_WEBHOOK_DISABLE_AFTER_HOURS
    cutoff = timezone.now() - timedelta(hours=hours)
    disabled = []
    for endpoint_id in sorted(endpoint_ids):
        with transaction.atomic():
            changed = WebhookEndpoint.objects.filter(
                pk=endpoint_id, is_active=True, failing_since__lte=cutoff
            ).update(is_active=False, disabled_reason=f"Every attempt failed for {hours} hours.")
            if changed:
                webhook_disabled_email_enqueue(endpoint_id=endpoint_id)
                disabled.append(endpoint_id)
    return disabled
