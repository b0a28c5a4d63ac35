"""An API client's request (a bearer credential on /api/) skips the browser's middleware only."""

import pytest
from django.test import Client, RequestFactory

from kore.core.bearer import is_bearer_api_request
from kore.core.testing import client_for


@pytest.mark.parametrize(
    ("path", "authorization", "expected"),
    [
        ("/api/v1/orgs/acme/accounts/", "Bearer eyJhbGciOi.x.y", True),
        ("/api/v1/orgs/acme/accounts/", "Bearer kore_0a1b2c3d_secret", True),
        # simplejwt ignores a lower-case scheme, so the session may still authenticate these.
        ("/api/v1/orgs/acme/accounts/", "bearer eyJhbGciOi.x.y", False),
        ("/api/v1/orgs/acme/accounts/", "Basic dXNlcjpwYXNz", False),
        ("/api/v1/orgs/acme/accounts/", None, False),
        ("/transactions/", "Bearer eyJhbGciOi.x.y", False),
    ],
)
def test_bearer_api_requests_are_recognised(path, authorization, expected):
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    assert is_bearer_api_request(RequestFactory().get(path, **extra)) is expected


def test_an_api_client_gets_every_security_header_and_no_cookie(world):
    response = client_for(world.member).get(f"/api/v1/orgs/{world.org.slug}/accounts/")
    assert response.status_code == 200
    assert not response.cookies
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert len(response["X-Request-ID"]) == 32


def test_a_bearer_credential_wins_over_a_signed_in_session(world):
    client = client_for(world.member)
    client.force_login(world.outsider)
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["email"] == world.member.email


def test_a_session_still_signs_a_person_in_to_the_api(world):
    client = Client()
    client.force_login(world.member)
    response = client.get(f"/api/v1/orgs/{world.org.slug}/accounts/")
    assert response.status_code == 200


def test_a_web_page_sent_with_a_bearer_header_keeps_its_session(world):
    client = Client(HTTP_AUTHORIZATION="Bearer not-for-the-web-app")
    client.force_login(world.member)
    response = client.get("/account/security/")
    assert response.status_code == 200
    assert "csrftoken" in response.cookies
