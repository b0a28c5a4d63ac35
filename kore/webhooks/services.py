"""Writes on webhook endpoints and deliveries: register, change, remove, redeliver, replay."""

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kore.core.exceptions import NotFound, rule_violation
from kore.orgs.scoping import OrgContext

from .events import (
    LAST_ID,
    PUBLISHED_TYPES,
    TRANSACTION_TYPES,
    deliveries_wake_on_commit,
    delivery_window_end,
    transaction_events_wake,
)
from .models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from .signing import secret_generate
from .transport import address_refused

REPLAY_LIMIT = 10_000


def endpoint_url_check(url: str) -> str:
    """The URL as stored, or a 422 naming what is wrong with it."""

    def refuse(code: str, message: str) -> Exception:
        return rule_violation("url", code, message)

    if url != url.strip() or any(c.isspace() or ord(c) < 32 for c in url):
        raise refuse("webhook_url_invalid", "The URL may not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError as exc:
        raise refuse("webhook_url_invalid", "The URL cannot be parsed.") from exc
    if parts.scheme not in ("http", "https"):
        raise refuse("webhook_url_scheme", "The URL must start with https:// or http://.")
    if parts.username is not None or parts.password is not None:
        raise refuse("webhook_url_credentials", "The URL may not carry a user name or password.")
    if not parts.hostname:
        raise refuse("webhook_url_invalid", "The URL has no host.")
    if parts.fragment:
        raise refuse("webhook_url_invalid", "The URL may not have a #fragment.")
    if parts.scheme == "http" and settings.KORE_WEBHOOK_REQUIRE_HTTPS:
        raise refuse("webhook_https_required", "Webhook URLs must use https://.")
    if not settings.KORE_WEBHOOK_ALLOW_PRIVATE and _names_private_host(parts.hostname):
        raise refuse(
            "webhook_url_private", "The URL names a private, loopback or reserved address."
        )
    return url


def _names_private_host(host: str) -> bool:
    """A literal address or localhost; names are checked again, resolved, on every send."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return address_refused(ipaddress.ip_address(host))
    except ValueError:
        return False


def _event_types_check(event_types: list[str]) -> list[str]:
    known = (*TRANSACTION_TYPES, *PUBLISHED_TYPES)
    return [t for t in known if t in set(event_types)]  # one order, no duplicates


def endpoint_create(
    *, ctx: OrgContext, url: str, event_types: list[str], description: str = ""
) -> WebhookEndpoint:
    """Register an endpoint; its secret is readable on the returned object only (shown once).

    Transaction events start from the current change number: nothing older is sent."""
    from kore.ledger.services.state import ledger_version

    endpoint = WebhookEndpoint(
        organization=ctx.organization,
        url=endpoint_url_check(url),
        description=description,
        event_types=_event_types_check(event_types),
        secret=secret_generate(),
        created_by=ctx.user,
        tx_seq=ledger_version(organization=ctx.organization),
        tx_id=LAST_ID,
    )
    endpoint.full_clean()
    endpoint.save()
    return endpoint


def endpoint_update(*, endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    """Change the URL, description, event types, or turn it on or off (which clears its
    failing streak: it gets a fresh three days)."""
    if "url" in changes:
        endpoint.url = endpoint_url_check(changes["url"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if "event_types" in changes:
        endpoint.event_types = _event_types_check(changes["event_types"])
    if "is_active" in changes and changes["is_active"] != endpoint.is_active:
        endpoint.is_active = changes["is_active"]
        endpoint.failing_since = None
        endpoint.disabled_reason = "" if endpoint.is_active else "Disabled by an admin."
    endpoint.full_clean(exclude=["created_by"])  # its creator may have left: kept as null
    endpoint.save()
    if endpoint.is_active:
        deliveries_wake_on_commit()
        transaction.on_commit(
            lambda: transaction_events_wake(organization_id=endpoint.organization_id),
            robust=True,
        )
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint with its deliveries and their attempts."""
    endpoint.delete()


def delivery_redeliver(*, endpoint: WebhookEndpoint, delivery_id: int) -> WebhookDelivery:
    """Send one delivery again (the same event id), with a fresh retry window."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .filter(endpoint=endpoint, pk=delivery_id)
            .first()
        )
        if delivery is None:
            raise NotFound()
        delivery.status = WebhookDelivery.Status.PENDING
        delivery.next_attempt_at = timezone.now()
        delivery.give_up_at = delivery_window_end()
        delivery.lease_until = None
        delivery.save(update_fields=["status", "next_attempt_at", "give_up_at", "lease_until"])
        deliveries_wake_on_commit()
    return delivery


def endpoint_replay(
    *, endpoint: WebhookEndpoint, after_event: int | None, after_change: int | None
) -> int:
    """Send again what followed a cursor: events after ``evt_<after_event>`` (at most 10,000 per
    call) and transaction changes after change number ``after_change`` (each transaction in its
    current state, as the change feed holds it). Returns the events queued now; transaction
    changes are queued by the worker."""
    queued = 0
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if after_event is not None:
            wanted = [t for t in locked.event_types if t in PUBLISHED_TYPES]
            events = WebhookEvent.objects.filter(
                organization_id=locked.organization_id, pk__gt=after_event, type__in=wanted
            ).order_by("pk")[:REPLAY_LIMIT]
            window_end = delivery_window_end()
            now = timezone.now()
            created = WebhookDelivery.objects.bulk_create(
                WebhookDelivery(
                    endpoint=locked,
                    event_id=f"evt_{e.pk}",
                    event_type=e.type,
                    payload=e.payload,
                    event_created_at=e.created_at,
                    next_attempt_at=now,
                    give_up_at=window_end,
                )
                for e in events
            )
            queued = len(created)
            deliveries_wake_on_commit()
        if after_change is not None and (after_change, LAST_ID) < (locked.tx_seq, locked.tx_id):
            locked.tx_seq, locked.tx_id = after_change, LAST_ID
            locked.save(update_fields=["tx_seq", "tx_id"])
            transaction.on_commit(
                lambda: transaction_events_wake(organization_id=locked.organization_id),
                robust=True,
            )
    return queued
