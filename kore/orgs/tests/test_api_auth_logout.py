"""POST /api/v1/auth/logout/: blacklist the refresh token and revoke the access token."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from kore.core.testing import assert_error, client_for
from kore.orgs.models import RevokedAccessToken, SecurityEvent, User
from kore.orgs.services import api_token_create, token_pair_issue
from kore.orgs.tests.factories import UserFactory

URL = "/api/v1/auth/logout/"


def _client(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.fixture
def user(db) -> User:
    return UserFactory()


@pytest.fixture
def pair(user) -> dict[str, str]:
    return token_pair_issue(user=user)


def test_logout_is_204(pair):
    response = _client(pair["access"]).post(URL, {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 204


def test_logout_blacklists_the_refresh_token(pair):
    _client(pair["access"]).post(URL, {"refresh": pair["refresh"]}, format="json")
    response = APIClient().post(
        "/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json"
    )
    assert_error(response, 401, "token_blacklisted")


def test_same_access_token_is_then_401_token_revoked(pair):
    client = _client(pair["access"])
    assert client.get("/api/v1/me/").status_code == 200
    client.post(URL, {"refresh": pair["refresh"]}, format="json")
    assert_error(client.get("/api/v1/me/"), 401, "token_revoked")


def test_logout_without_refresh_still_revokes_the_access_token(pair):
    client = _client(pair["access"])
    assert client.post(URL, {}, format="json").status_code == 204
    assert_error(client.get("/api/v1/me/"), 401, "token_revoked")


def test_revoked_jti_is_kept_until_the_access_token_expires(pair):
    _client(pair["access"]).post(URL, {}, format="json")
    access = AccessToken(pair["access"])
    revoked = RevokedAccessToken.objects.get()
    assert revoked.jti == access["jti"]
    assert revoked.expires_at == datetime.fromtimestamp(access["exp"], tz=UTC)


def test_other_sessions_of_the_same_user_keep_working(user, pair):
    other = token_pair_issue(user=user)
    _client(pair["access"]).post(URL, {"refresh": pair["refresh"]}, format="json")
    assert _client(other["access"]).get("/api/v1/me/").status_code == 200
    response = APIClient().post(
        "/api/v1/auth/token/refresh/", {"refresh": other["refresh"]}, format="json"
    )
    assert response.status_code == 200


def test_someone_elses_refresh_is_403(pair):
    victim = token_pair_issue(user=UserFactory())
    response = _client(pair["access"]).post(URL, {"refresh": victim["refresh"]}, format="json")
    assert_error(response, 403, "permission_denied")


def test_someone_elses_refresh_is_not_blacklisted(pair):
    victim = token_pair_issue(user=UserFactory())
    _client(pair["access"]).post(URL, {"refresh": victim["refresh"]}, format="json")
    response = APIClient().post(
        "/api/v1/auth/token/refresh/", {"refresh": victim["refresh"]}, format="json"
    )
    assert response.status_code == 200


def test_refused_logout_does_not_revoke_the_access_token(pair):
    victim = token_pair_issue(user=UserFactory())
    client = _client(pair["access"])
    client.post(URL, {"refresh": victim["refresh"]}, format="json")
    assert client.get("/api/v1/me/").status_code == 200
    assert not RevokedAccessToken.objects.exists()


def test_unauthenticated_is_401(db):
    response = APIClient().post(URL, {}, format="json")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_expired_refresh_still_logs_out_the_access_token(user, pair):
    expired = RefreshToken.for_user(user)
    expired.set_exp(from_time=timezone.now() - timedelta(days=2))
    client = _client(pair["access"])
    assert client.post(URL, {"refresh": str(expired)}, format="json").status_code == 204
    assert_error(client.get("/api/v1/me/"), 401, "token_revoked")


def test_already_blacklisted_refresh_still_logs_out_the_access_token(user, pair):
    _client(pair["access"]).post(URL, {"refresh": pair["refresh"]}, format="json")
    second = token_pair_issue(user=user)["access"]
    client = _client(second)
    assert client.post(URL, {"refresh": pair["refresh"]}, format="json").status_code == 204
    assert_error(client.get("/api/v1/me/"), 401, "token_revoked")


def test_invalid_refresh_is_401_token_invalid(pair):
    response = _client(pair["access"]).post(URL, {"refresh": "not.a.jwt"}, format="json")
    assert_error(response, 401, "token_invalid")


def test_unknown_field_is_400(pair):
    response = _client(pair["access"]).post(URL, {"refresh_token": "x"}, format="json")
    assert_error(response, 400, "unknown_field")


def test_logout_records_a_security_event(user, pair):
    response = _client(pair["access"]).post(
        URL, {"refresh": pair["refresh"]}, format="json", REMOTE_ADDR="203.0.113.5"
    )
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.LOGOUT)
    assert event.actor == user
    assert event.ip == "203.0.113.5"
    assert event.request_id == response["X-Request-ID"]


def test_api_token_cannot_log_out_its_creator(world):
    _, raw = api_token_create(
        organization=world.org,
        creator=world.member,
        creator_role="member",
        name="ci",
        role="member",
    )
    session = token_pair_issue(user=world.member)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.post(URL, {"refresh": session["refresh"]}, format="json")
    assert_error(response, 403, "human_only")
    still = APIClient().post(
        "/api/v1/auth/token/refresh/", {"refresh": session["refresh"]}, format="json"
    )
    assert still.status_code == 200


def test_client_for_session_is_revoked_by_logout(world):
    client = client_for(world.viewer)
    assert client.post(URL, {}, format="json").status_code == 204
    assert_error(client.get(f"/api/v1/orgs/{world.org.slug}/"), 401, "token_revoked")
