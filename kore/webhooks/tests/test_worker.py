"""Deliveries through a REAL Celery worker process to a receiver on 127.0.0.1."""

import json
from datetime import date
from decimal import Decimal

import pytest

from kore.core.testing import client_for, wait_until
from kore.ledger.tests.factories import AccountFactory
from kore.webhooks.events import publish
from kore.webhooks.models import WebhookDelivery
from kore.webhooks.signing import SIGNATURE_HEADER, signature_verify

from .factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_published_event_reaches_the_receiver_through_the_worker(webhook_worker, world, receiver):
    endpoint = WebhookEndpointFactory(organization=world.org, url=receiver.url)
    event = publish(world.org, "import.finished", {"import": 12, "created_count": 3})
    wait_until(lambda: receiver.requests, timeout=30, what="the delivery to arrive")
    [request] = receiver.requests
    assert json.loads(request.body)["id"] == f"evt_{event.pk}"
    assert signature_verify(
        secret=endpoint.secret, body=request.body, header=request.headers[SIGNATURE_HEADER]
    )
    wait_until(
        lambda: WebhookDelivery.objects.filter(status="delivered").exists(),
        timeout=10,
        what="the delivery to be marked delivered",
    )


def test_a_transaction_created_through_the_api_is_sent_from_the_change_feed(
    webhook_worker, world, receiver
):
    WebhookEndpointFactory(
        organization=world.org, url=receiver.url, event_types=["transaction.created"]
    )
    account = AccountFactory(organization=world.org, currency="EUR")
    response = client_for(world.member).post(
        f"/api/v1/orgs/{world.org.slug}/transactions/",
        {"account": account.pk, "occurred_on": str(date(2026, 5, 4)), "amount": "-12.30"},
        format="json",
    )
    assert response.status_code == 201, response.content
    wait_until(lambda: receiver.requests, timeout=30, what="the transaction event to arrive")
    body = json.loads(receiver.requests[0].body)
    assert body["type"] == "transaction.created"
    assert body["data"]["id"] == response.json()["id"]
    assert Decimal(body["data"]["amount"]) == Decimal("-12.30")
    assert body["id"].startswith("chg_")
    assert body["id"].endswith(f"_{response.json()['id']}")
