"""Webhook endpoints, the events Kore publishes to them, and each delivery and attempt."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from kore.orgs.models import Organization


class WebhookEvent(models.Model):
    """An event that is not a transaction change (imports, exports, budgets): its id is the
    event id receivers see (``evt_<id>``). Transaction events need no row: the change feed
    already numbers them."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["organization", "id"], name="webhooks_event_org_id"),
        ]

    def __str__(self) -> str:
        return f"evt_{self.pk} {self.type}"


class WebhookEndpoint(models.Model):
    """A receiver an admin registered, with the event types it wants and its signing secret.

    ``failing_since`` is the first failed attempt since the last success; an endpoint failing for
    longer than ``KORE_WEBHOOK_DISABLE_AFTER_HOURS`` is disabled (``is_active`` false) and the
    organisation's admins are emailed. ``tx_seq``/``tx_id`` is how far into the change feed its
    transaction events were queued.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list)
    # Shown once, when created; kept to sign every delivery.
    secret = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    tx_seq = models.BigIntegerField(default=0)
    tx_id = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["organization", "id"], name="webhooks_endpoint_org_id"),
        ]

    def __str__(self) -> str:
        return f"webhook {self.pk} → {self.url}"


class WebhookDelivery(models.Model):
    """One event on its way to one endpoint. Its state machine::

        pending ──claim──▶ sending ──2xx──▶ delivered
           ▲                  │ other answer, no answer, refused address
           └──── backoff ─────┤
                              └── past ``give_up_at`` ──▶ failed

    * ``pending`` waits for ``next_attempt_at``; a worker claims due rows with
      ``select_for_update(skip_locked=True)``, sets ``sending`` and a lease, and counts an attempt.
    * ``sending`` whose lease ran out belongs to a worker that died mid-attempt: it is claimed
      again, so the receiver may see that one event twice (at least once, never lost).
    * ``delivered`` and ``failed`` are final until someone asks to redeliver (back to pending).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        DELIVERED = "delivered"
        FAILED = "failed"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="+")
    # evt_<WebhookEvent id>, or chg_<change number>_<transaction id> for a transaction change.
    event_id = models.CharField(max_length=60)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    event_created_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # Retries stop here (three days after it was queued, or after a redelivery was asked for).
    give_up_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(
                models.F("endpoint"), models.F("id").desc(), name="webhooks_delivery_endpoint"
            ),
            # The worker's queue: only unfinished rows.
            models.Index(
                fields=["next_attempt_at"],
                name="webhooks_delivery_due",
                condition=Q(status__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → endpoint {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One try at sending a delivery: the receiver's status code (none when it never answered),
    how long it took, and an error code when it failed before an answer."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=40, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["delivery", "id"], name="webhooks_attempt_delivery"),
        ]

    def __str__(self) -> str:
        return f"attempt on {self.delivery_id}: {self.status_code or self.error}"
