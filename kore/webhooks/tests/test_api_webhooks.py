"""/api/v1/orgs/{slug}/webhooks/ and …/{id}/: list, register (secret shown once), change, remove."""

import pytest
from rest_framework.test import APIClient

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.orgs.models import Role
from kore.orgs.services import api_token_create
from kore.webhooks.models import WebhookEndpoint

from .factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db
GOOD = {"url": "https://hooks.example.com/kore", "event_types": ["transaction.created"]}


def url(world) -> str:
    return f"/api/v1/orgs/{world.org.slug}/webhooks/"


def token_client(world, role: str = Role.ADMIN) -> APIClient:
    _, raw = api_token_create(
        organization=world.org, creator=world.owner, creator_role=Role.OWNER, name="ci", role=role
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_admins_register_an_endpoint_and_see_its_secret_once(world, who):
    response = client_for(getattr(world, who)).post(url(world), GOOD, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert (body["url"], body["event_types"], body["is_active"]) == (
        GOOD["url"],
        ["transaction.created"],
        True,
    )
    listed = client_for(world.owner).get(url(world)).json()["results"]
    assert [e["id"] for e in listed] == [body["id"]]
    assert "secret" not in listed[0]
    detail = client_for(world.owner).get(f"{url(world)}{body['id']}/").json()
    assert "secret" not in detail


@pytest.mark.parametrize("who", ["member", "viewer"])
def test_members_and_viewers_cannot_see_or_register_webhooks(world, who):
    client = client_for(getattr(world, who))
    assert_error(client.get(url(world)), 403, "permission_denied")
    assert_error(client.post(url(world), GOOD, format="json"), 403, "permission_denied")


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_admin_api_token_is_refused_as_not_a_person(world, method):
    response = getattr(token_client(world), method)(url(world), GOOD, format="json")
    assert_error(response, 403, "human_only")
    assert WebhookEndpoint.objects.count() == 0


def test_an_api_token_cannot_change_read_or_remove_an_endpoint(world):
    endpoint = WebhookEndpointFactory(organization=world.org)
    client, path = token_client(world), f"{url(world)}{endpoint.pk}/"
    assert_error(client.get(path), 403, "human_only")
    assert_error(client.patch(path, {"url": "https://evil.example.com/"}, format="json"), 403)
    assert_error(client.delete(path), 403, "human_only")
    assert_error(client.get(f"{path}deliveries/"), 403, "human_only")
    endpoint.refresh_from_db()
    assert endpoint.url.startswith("https://hooks")


def test_anonymous_is_401(world):
    assert_error(APIClient().get(url(world)), 401, "not_authenticated")


def test_another_organisations_endpoint_is_404(world):
    endpoint = WebhookEndpointFactory(organization=world.org)
    assert_other_org_is_404(world.outsider, "get", url(world))
    assert_other_org_is_404(world.outsider, "get", f"{url(world)}{endpoint.pk}/")
    foreign = WebhookEndpointFactory(organization=world.other_org)
    assert_error(client_for(world.owner).get(f"{url(world)}{foreign.pk}/"), 404, "not_found")


def test_put_is_not_allowed(world):
    endpoint = WebhookEndpointFactory(organization=world.org)
    response = client_for(world.owner).put(f"{url(world)}{endpoint.pk}/", GOOD, format="json")
    assert_error(response, 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("bad_url", "code"),
    [
        ("ftp://hooks.example.com/k", "webhook_url_scheme"),
        ("javascript:alert(1)", "webhook_url_scheme"),
        ("file:///etc/passwd", "webhook_url_scheme"),
        ("https://user:pw@hooks.example.com/k", "webhook_url_credentials"),
        ("https://user@hooks.example.com/k", "webhook_url_credentials"),
        ("http://hooks.example.com/k", "webhook_https_required"),
        ("https:///k", "webhook_url_invalid"),
        ("https://hooks.example.com:99999/k", "webhook_url_invalid"),
        ("https://hooks.example.com/a b", "webhook_url_invalid"),
        ("https://hooks.example.com/k#frag", "webhook_url_invalid"),
        ("https://10.0.0.8/k", "webhook_url_private"),
        ("https://[::1]/k", "webhook_url_private"),
        ("https://169.254.169.254/latest", "webhook_url_private"),
        ("https://localhost/k", "webhook_url_private"),
    ],
)
def test_a_bad_url_is_422_with_its_code_and_nothing_is_stored(world, bad_url, code):
    response = client_for(world.owner).post(url(world), {**GOOD, "url": bad_url}, format="json")
    error = assert_error(response, 422, code)
    assert error["fields"]["url"][0]["code"] == code
    assert WebhookEndpoint.objects.count() == 0


def test_the_embedded_runtime_accepts_a_local_http_receiver(world, local_targets):
    body = {**GOOD, "url": "http://127.0.0.1:9000/hooks"}
    response = client_for(world.owner).post(url(world), body, format="json")
    assert response.status_code == 201, response.content


def test_an_unknown_event_type_is_422(world):
    response = client_for(world.owner).post(
        url(world), {**GOOD, "event_types": ["transaction.exploded"]}, format="json"
    )
    error = assert_error(response, 422)
    assert "event_types.0" in error["fields"]


def test_no_event_type_is_422(world):
    response = client_for(world.owner).post(url(world), {**GOOD, "event_types": []}, format="json")
    assert_error(response, 422)


def test_a_wrongly_typed_body_is_400(world):
    response = client_for(world.owner).post(
        url(world), {"url": 5, "event_types": "transaction.created"}, format="json"
    )
    assert_error(response, 400)


def test_admins_turn_an_endpoint_off_and_on_again(world):
    endpoint = WebhookEndpointFactory(organization=world.org, is_active=False)
    path = f"{url(world)}{endpoint.pk}/"
    response = client_for(world.admin).patch(path, {"is_active": True}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["is_active"], response.json()["disabled_reason"]) == (True, "")


def test_a_changed_url_is_checked_like_a_new_one(world):
    endpoint = WebhookEndpointFactory(organization=world.org)
    path = f"{url(world)}{endpoint.pk}/"
    response = client_for(world.admin).patch(path, {"url": "gopher://x/"}, format="json")
    assert_error(response, 422, "webhook_url_scheme")


def test_admins_remove_an_endpoint(world):
    endpoint = WebhookEndpointFactory(organization=world.org)
    response = client_for(world.admin).delete(f"{url(world)}{endpoint.pk}/")
    assert response.status_code == 204
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
