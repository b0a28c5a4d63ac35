"""…/webhooks/{id}/deliveries/, …/deliveries/{id}/redeliver/ and …/replay/."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.webhooks.delivery import deliveries_send_due
from kore.webhooks.events import publish
from kore.webhooks.models import WebhookDelivery

from .factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(world, receiver, local_targets):
    return WebhookEndpointFactory(organization=world.org, url=receiver.url)


def path(world, endpoint, rest: str = "") -> str:
    return f"/api/v1/orgs/{world.org.slug}/webhooks/{endpoint.pk}/{rest}"


def test_deliveries_list_newest_first_with_each_attempt(world, endpoint, receiver):
    first = publish(world.org, "export.ready", {"n": 1})
    receiver.status = 500
    deliveries_send_due()
    second = publish(world.org, "import.failed", {"n": 2})
    receiver.status = 200
    deliveries_send_due()
    body = client_for(world.admin).get(path(world, endpoint, "deliveries/")).json()
    rows = body["results"]
    assert [r["event_id"] for r in rows] == [f"evt_{second.pk}", f"evt_{first.pk}"]
    assert rows[0]["status"] == "delivered"
    assert rows[1]["status"] == "pending"
    [attempt] = rows[1]["attempt_log"]
    assert attempt["status_code"] == 500
    assert isinstance(attempt["latency_ms"], int)
    assert body["next_cursor"] is None


def test_the_deliveries_list_pages_with_a_constant_number_of_queries(world, endpoint):
    for n in range(7):
        publish(world.org, "export.ready", {"n": n})
    deliveries_send_due()
    client = client_for(world.admin)
    with CaptureQueriesContext(connection) as few:
        client.get(path(world, endpoint, "deliveries/?limit=2"))
    with CaptureQueriesContext(connection) as many:
        page = client.get(path(world, endpoint, "deliveries/?limit=5")).json()
    assert len(few) == len(many)
    rest = client.get(path(world, endpoint, f"deliveries/?cursor={page['next_cursor']}")).json()
    assert len(page["results"]) + len(rest["results"]) == 7
    assert rest["next_cursor"] is None


def test_a_cursor_of_another_endpoint_is_refused(world, endpoint):
    for n in range(3):
        publish(world.org, "export.ready", {"n": n})
    other = WebhookEndpointFactory(organization=world.org)
    cursor = client_for(world.admin).get(path(world, other, "deliveries/?limit=1")).json()
    response = client_for(world.admin).get(
        path(world, endpoint, f"deliveries/?cursor={cursor['next_cursor']}")
    )
    assert_error(response, 400, "invalid_cursor")


def test_redeliver_sends_a_delivery_again(world, endpoint, receiver):
    publish(world.org, "export.ready", {"n": 1})
    deliveries_send_due()
    delivery = WebhookDelivery.objects.get()
    response = client_for(world.admin).post(
        path(world, endpoint, f"deliveries/{delivery.pk}/redeliver/")
    )
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    deliveries_send_due()
    assert len(receiver.requests) == 2


def test_redeliver_of_another_endpoints_delivery_is_404(world, endpoint):
    other = WebhookEndpointFactory(organization=world.org)
    publish(world.org, "export.ready", {"n": 1})
    delivery = WebhookDelivery.objects.get(endpoint=other)
    response = client_for(world.admin).post(
        path(world, endpoint, f"deliveries/{delivery.pk}/redeliver/")
    )
    assert_error(response, 404, "not_found")
    assert_other_org_is_404(
        world.outsider, "post", path(world, other, f"deliveries/{delivery.pk}/redeliver/")
    )


def test_replay_from_an_event_cursor_queues_what_followed(world, endpoint, receiver):
    events = [publish(world.org, "export.ready", {"n": n}) for n in range(4)]
    deliveries_send_due()
    response = client_for(world.admin).post(
        path(world, endpoint, "replay/"), {"after_event": events[1].pk}, format="json"
    )
    assert response.status_code == 202, response.content
    assert response.json() == {"queued": 2}
    deliveries_send_due()
    ids = [r.headers["Kore-Event-Id"] for r in receiver.requests]
    assert sorted(ids[4:]) == sorted(f"evt_{e.pk}" for e in events[2:])


def test_replay_without_a_cursor_is_422(world, endpoint):
    response = client_for(world.admin).post(path(world, endpoint, "replay/"), {}, format="json")
    assert_error(response, 422, "replay_cursor_required")


def test_replay_with_a_negative_cursor_is_422(world, endpoint):
    response = client_for(world.admin).post(
        path(world, endpoint, "replay/"), {"after_change": -1}, format="json"
    )
    assert_error(response, 422)


def test_replay_from_a_change_number_queues_the_transactions_changed_since(world, endpoint):
    from datetime import date
    from decimal import Decimal

    from kore.ledger.services.transactions import transaction_create
    from kore.ledger.tests.factories import AccountFactory
    from kore.orgs.models import Role
    from kore.orgs.scoping import OrgContext
    from kore.webhooks.events import transaction_events_queue

    ctx = OrgContext(world.org, Role.OWNER, world.owner, None)
    account = AccountFactory(organization=world.org, currency="EUR")
    txs = [
        transaction_create(ctx=ctx, account=account.pk, occurred_on=date(2026, 1, d),
                           amount=Decimal("-1.00"))
        for d in (1, 2, 3)
    ]  # fmt: skip
    assert transaction_events_queue(organization_id=world.org.pk) == 3
    txs[0].refresh_from_db()
    response = client_for(world.admin).post(
        path(world, endpoint, "replay/"), {"after_change": txs[0].change_seq}, format="json"
    )
    assert response.status_code == 202, response.content
    assert transaction_events_queue(organization_id=world.org.pk) == 2  # the two after it
    replayed = WebhookDelivery.objects.filter(event_type="transaction.created")
    assert sorted(d.payload["id"] for d in replayed) == sorted(
        [txs[0].pk, txs[1].pk, txs[1].pk, txs[2].pk, txs[2].pk]
    )
