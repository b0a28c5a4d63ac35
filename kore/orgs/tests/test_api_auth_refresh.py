"""POST /api/v1/auth/token/refresh/: rotate a refresh token."""

from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from kore.core.testing import assert_error
from kore.orgs.models import User
from kore.orgs.services import token_pair_issue
from kore.orgs.tests.factories import UserFactory

URL = "/api/v1/auth/token/refresh/"


def _refresh(raw, **extra):
    return APIClient().post(URL, {"refresh": raw}, format="json", **extra)


@pytest.fixture
def user(db) -> User:
    return UserFactory()


@pytest.fixture
def pair(user) -> dict[str, str]:
    return token_pair_issue(user=user)


def test_rotation_returns_a_new_pair_for_the_same_user(user, pair):
    response = _refresh(pair["refresh"])
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert body["refresh"] != pair["refresh"]
    new_refresh = RefreshToken(body["refresh"])
    assert new_refresh["jti"] != RefreshToken(pair["refresh"], verify=False)["jti"]
    assert str(new_refresh["user_id"]) == str(user.pk)
    assert str(AccessToken(body["access"])["user_id"]) == str(user.pk)


def test_rotated_access_token_reaches_me(user, pair):
    access = _refresh(pair["refresh"]).json()["access"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert client.get("/api/v1/me/").json()["id"] == user.pk


def test_old_refresh_reused_is_401_token_blacklisted(pair):
    assert _refresh(pair["refresh"]).status_code == 200
    assert_error(_refresh(pair["refresh"]), 401, "token_blacklisted")


def test_new_refresh_rotates_again(pair):
    second = _refresh(pair["refresh"]).json()["refresh"]
    third = _refresh(second)
    assert third.status_code == 200
    assert third.json()["refresh"] not in (pair["refresh"], second)


def test_rotation_blacklists_the_old_token(pair):
    _refresh(pair["refresh"])
    jti = RefreshToken(pair["refresh"], verify=False)["jti"]
    assert BlacklistedToken.objects.filter(token__jti=jti).exists()


def test_refresh_used_twice_concurrently_issues_only_one_pair(pair, monkeypatch):
    """Two requests that both pass the blacklist check before either blacklists: one wins."""
    assert _refresh(pair["refresh"]).status_code == 200
    # The second request read the blacklist before the first one wrote it.
    monkeypatch.setattr(RefreshToken, "check_blacklist", lambda self: None)
    assert_error(_refresh(pair["refresh"]), 401, "token_blacklisted")
    assert OutstandingToken.objects.count() == 2  # the original and one rotation, no third


def test_expired_refresh_is_401_token_expired(user):
    token = RefreshToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(days=2))
    assert_error(_refresh(str(token)), 401, "token_expired")


def test_signature_from_another_key_is_401_token_invalid(user):
    payload = RefreshToken.for_user(user).payload
    forged = jwt.encode(payload, "not-the-signing-key-" * 3, algorithm="HS256")
    assert_error(_refresh(forged), 401, "token_invalid")


def test_payload_swapped_under_a_valid_signature_is_401_token_invalid(user):
    victim = UserFactory()
    header, _, signature = str(RefreshToken.for_user(user)).split(".")
    other_payload = str(RefreshToken.for_user(victim)).split(".")[1]
    assert_error(_refresh(f"{header}.{other_payload}.{signature}"), 401, "token_invalid")


def test_unsigned_token_is_401_token_invalid(user):
    payload = RefreshToken.for_user(user).payload
    unsigned = jwt.encode(payload, None, algorithm="none")
    assert_error(_refresh(unsigned), 401, "token_invalid")


def test_access_token_is_not_a_refresh_token(pair):
    assert_error(_refresh(pair["access"]), 401, "token_invalid")


def test_garbage_is_401_token_invalid(db):
    assert_error(_refresh("not.a.jwt"), 401, "token_invalid")


def test_inactive_users_refresh_is_401_token_invalid(user, pair):
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_error(_refresh(pair["refresh"]), 401, "token_invalid")


def test_deleted_users_refresh_is_401_token_invalid(user, pair):
    user.delete()
    assert_error(_refresh(pair["refresh"]), 401, "token_invalid")


def test_missing_refresh_is_400_required(db):
    error = assert_error(APIClient().post(URL, {}, format="json"), 400)
    assert error["fields"] == {"refresh": [{"code": "required", "message": error["message"]}]}


def test_refresh_as_number_is_400_invalid_type(db):
    assert_error(_refresh(12345), 400, "invalid_type")


def test_refresh_is_throttled_per_ip(db):
    for _ in range(10):
        assert _refresh("not.a.jwt", REMOTE_ADDR="192.0.2.50").status_code == 401
    response = _refresh("not.a.jwt", REMOTE_ADDR="192.0.2.50")
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1


def test_signing_key_is_the_test_key():
    # Guards the forged-signature tests: they only prove something if the key differs.
    assert settings.SIMPLE_JWT["SIGNING_KEY"] != "not-the-signing-key-" * 3
