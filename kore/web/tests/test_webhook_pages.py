"""The webhooks pages: register (secret shown once), deliveries with attempts, redeliver."""

import pytest

from kore.webhooks.delivery import deliveries_send_due
from kore.webhooks.events import publish
from kore.webhooks.models import WebhookDelivery, WebhookEndpoint
from kore.webhooks.tests.factories import WebhookEndpointFactory
from kore.webhooks.tests.receiver import running_receiver

from .helpers import browser

pytestmark = pytest.mark.django_db


def page(world, rest: str = "") -> str:
    return f"/o/{world.org.slug}/settings/webhooks/{rest}"


def test_an_admin_registers_a_webhook_and_sees_its_secret_once(world):
    form = {"url": "https://hooks.example.com/k", "event_types": ["export.ready", "import.failed"]}
    response = browser(world.admin).post(page(world), form)
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["import.failed", "export.ready"]
    assert endpoint.secret in response.content.decode()
    again = browser(world.admin).get(page(world)).content.decode()
    assert "https://hooks.example.com/k" in again
    assert endpoint.secret not in again


def test_a_url_with_credentials_is_refused_on_the_form(world):
    form = {"url": "https://a:b@hooks.example.com/k", "event_types": ["export.ready"]}
    response = browser(world.admin).post(page(world), form)
    assert response.status_code == 422
    assert "user name or password" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("who", ["member", "viewer"])
def test_members_cannot_open_the_webhooks_page(world, who):
    assert browser(getattr(world, who)).get(page(world)).status_code == 403


def test_another_organisations_webhook_is_404(world):
    foreign = WebhookEndpointFactory(organization=world.other_org)
    assert browser(world.admin).get(page(world, f"{foreign.pk}/")).status_code == 404


@pytest.fixture
def receiver(settings):
    settings.KORE_WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on 127.0.0.1
    with running_receiver() as running:
        yield running


def test_the_detail_page_lists_deliveries_and_redelivers_one(world, receiver):
    endpoint = WebhookEndpointFactory(organization=world.org, url=receiver.url)
    receiver.status = 502
    event = publish(world.org, "export.ready", {"export": 1})
    deliveries_send_due()
    body = browser(world.admin).get(page(world, f"{endpoint.pk}/")).content.decode()
    assert f"evt_{event.pk}" in body
    assert "HTTP 502" in body
    delivery = WebhookDelivery.objects.get()
    response = browser(world.admin).post(
        page(world, f"{endpoint.pk}/deliveries/{delivery.pk}/redeliver/")
    )
    assert response.status_code == 302
    receiver.status = 200
    assert deliveries_send_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def test_an_admin_disables_and_removes_a_webhook(world):
    endpoint = WebhookEndpointFactory(organization=world.org)
    client = browser(world.admin)
    assert client.post(page(world, f"{endpoint.pk}/toggle/")).status_code == 302
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert client.post(page(world, f"{endpoint.pk}/delete/")).status_code == 302
    assert not WebhookEndpoint.objects.exists()


def test_toggle_is_post_only(world):
    endpoint = WebhookEndpointFactory(organization=world.org)
    assert browser(world.admin).get(page(world, f"{endpoint.pk}/toggle/")).status_code == 405
