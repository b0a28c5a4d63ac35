"""Sending deliveries to a real local receiver: signed, logged, retried, given up, disabled."""

import json
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from kore.notifications.services import email_deliver
from kore.webhooks.delivery import deliveries_send_due
from kore.webhooks.events import publish
from kore.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from kore.webhooks.services import delivery_redeliver
from kore.webhooks.signing import SIGNATURE_HEADER, signature_verify

from .factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status


@pytest.fixture
def endpoint(world, receiver, local_targets):
    return WebhookEndpointFactory(organization=world.org, url=receiver.url)


def test_a_delivery_arrives_signed_and_its_attempt_is_logged(world, endpoint, receiver):
    event = publish(world.org, "export.ready", {"export": 4})
    assert deliveries_send_due() == 1
    [request] = receiver.requests
    body = json.loads(request.body)
    assert body == {
        "id": f"evt_{event.pk}",
        "type": "export.ready",
        "created_at": body["created_at"],
        "organization": world.org.slug,
        "data": {"export": 4},
    }
    assert request.headers["Kore-Event-Id"] == f"evt_{event.pk}"
    assert signature_verify(
        secret=endpoint.secret, body=request.body, header=request.headers[SIGNATURE_HEADER]
    )
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Status.DELIVERED,
        1,
        200,
    )
    [attempt] = WebhookAttempt.objects.filter(delivery=delivery)
    assert attempt.status_code == 200
    assert 0 <= attempt.latency_ms < 10_000


def test_a_failed_answer_is_retried_later_with_backoff(world, endpoint, receiver):
    receiver.status = 503
    publish(world.org, "export.ready", {"export": 4})
    before = timezone.now()
    deliveries_send_due()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == (Status.PENDING, 503)
    assert before + timedelta(seconds=20) < delivery.next_attempt_at
    assert delivery.next_attempt_at < before + timedelta(seconds=40)
    assert deliveries_send_due() == 0  # not due yet
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None


def test_a_redirect_is_not_followed(world, endpoint, receiver):
    receiver.status, receiver.location = 302, "http://127.0.0.1:1/elsewhere"
    publish(world.org, "export.ready", {"export": 4})
    deliveries_send_due()
    assert len(receiver.requests) == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == (Status.PENDING, 302)


def test_no_answer_is_logged_with_an_error_code(world, local_targets):
    WebhookEndpointFactory(organization=world.org, url="http://127.0.0.1:9/closed")
    publish(world.org, "export.ready", {"export": 4})
    deliveries_send_due()
    attempt = WebhookAttempt.objects.get()
    assert (attempt.status_code, attempt.error) == (None, "connection_failed")


def test_a_delivery_past_its_retry_window_fails(world, endpoint, receiver):
    receiver.status = 500
    publish(world.org, "export.ready", {"export": 4})
    WebhookDelivery.objects.update(give_up_at=timezone.now())
    deliveries_send_due()
    assert WebhookDelivery.objects.get().status == Status.FAILED


def test_redelivery_sends_the_same_event_again(world, endpoint, receiver):
    publish(world.org, "export.ready", {"export": 4})
    deliveries_send_due()
    delivery = WebhookDelivery.objects.get()
    delivery_redeliver(endpoint=endpoint, delivery_id=delivery.pk)
    deliveries_send_due()
    first, second = (json.loads(b) for b in receiver.bodies())
    assert first == second  # same id: the receiver can drop it
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.DELIVERED, 2)


def test_a_success_clears_the_failing_streak(world, endpoint, receiver):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now())
    publish(world.org, "export.ready", {"export": 4})
    deliveries_send_due()
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_an_endpoint_failing_for_three_days_is_disabled_and_admins_are_emailed(
    world, endpoint, receiver, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    receiver.status = 500
    four_days_ago = timezone.now() - timedelta(days=4)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=four_days_ago)
    publish(world.org, "export.ready", {"export": 4})
    with django_capture_on_commit_callbacks() as callbacks:
        deliveries_send_due()
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "72 hours" in endpoint.disabled_reason
    assert len(callbacks) == 1  # the email, sent by the worker once this commits
    assert email_deliver(kind="webhook_disabled", object_id=endpoint.pk) == 1
    [message] = mail.outbox
    assert sorted(message.to) == sorted([world.owner.email, world.admin.email])
    assert endpoint.url in message.body
    # Disabled: nothing more is sent, though new events are still recorded.
    publish(world.org, "export.ready", {"export": 5})
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    assert deliveries_send_due() == 0


def test_a_delivery_whose_worker_died_is_sent_again_after_its_lease(world, endpoint, receiver):
    publish(world.org, "export.ready", {"export": 4})
    expired = timezone.now() - timedelta(seconds=1)
    WebhookDelivery.objects.update(status=Status.SENDING, attempts=1, lease_until=expired)
    assert deliveries_send_due() == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Status.DELIVERED, 2)


def test_many_deliveries_go_out_in_batches_none_lost(world, endpoint, receiver):
    events = [publish(world.org, "export.ready", {"export": n}) for n in range(120)]
    started = time.monotonic()
    while deliveries_send_due():
        assert time.monotonic() - started < 60
    ids = sorted(json.loads(b)["id"] for b in receiver.bodies())
    assert ids == sorted(f"evt_{e.pk}" for e in events)
