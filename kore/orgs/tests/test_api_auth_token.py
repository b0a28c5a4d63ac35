"""POST /api/v1/auth/token/: email and password for a JWT pair."""

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from kore.core.testing import assert_error, client_for
from kore.orgs.models import SecurityEvent, User
from kore.orgs.tests.factories import PASSWORD, UserFactory

URL = "/api/v1/auth/token/"


def _login(email: str, password: str = PASSWORD, **extra):
    return APIClient().post(URL, {"email": email, "password": password}, format="json", **extra)


@pytest.fixture
def user(db) -> User:
    return UserFactory(email="ada@example.com")


def test_success_returns_access_and_refresh_for_the_user(user):
    response = _login("ada@example.com")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert str(AccessToken(body["access"])["user_id"]) == str(user.pk)
    assert str(RefreshToken(body["refresh"])["user_id"]) == str(user.pk)


def test_returned_access_token_reaches_me(user):
    access = _login("ada@example.com").json()["access"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["email"] == "ada@example.com"


def test_success_sets_last_login(user):
    assert user.last_login is None
    _login("ada@example.com")
    user.refresh_from_db()
    assert user.last_login is not None


def test_wrong_password_is_401_authentication_failed(user):
    response = _login("ada@example.com", "not-the-password-1")
    error = assert_error(response, 401, "authentication_failed")
    assert "access" not in response.json()
    assert error["fields"] == {}


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(user):
    wrong_password = assert_error(_login("ada@example.com", "nope-nope-nope"), 401)
    unknown_email = assert_error(_login("nobody@example.com"), 401)
    assert (unknown_email["code"], unknown_email["message"]) == (
        wrong_password["code"],
        wrong_password["message"],
    )


def test_inactive_user_cannot_sign_in(user):
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_error(_login("ada@example.com"), 401, "authentication_failed")


def test_password_is_not_trimmed(user):
    assert_error(_login("ada@example.com", f" {PASSWORD} "), 401, "authentication_failed")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(upper=st.lists(st.booleans(), min_size=15, max_size=15))
def test_email_is_case_insensitive(user, upper):
    cache.clear()  # each example is one more attempt for the rate limits
    email = "".join(
        c.upper() if flip else c for c, flip in zip("ada@example.com", upper, strict=True)
    )
    response = _login(f"  {email} ")
    assert response.status_code == 200, (email, response.json())


def test_unknown_field_is_400_unknown_field(user):
    response = APIClient().post(
        URL,
        {"email": "ada@example.com", "password": PASSWORD, "remember": True},
        format="json",
    )
    error = assert_error(response, 400, "unknown_field")
    assert list(error["fields"]) == ["remember"]


@pytest.mark.parametrize("password", [12345678901, True, None, ["x"], {"p": 1}])
def test_password_that_is_not_a_json_string_is_400(user, password):
    response = APIClient().post(
        URL, {"email": "ada@example.com", "password": password}, format="json"
    )
    error = assert_error(response, 400)
    assert list(error["fields"]) == ["password"]


def test_missing_password_is_400_required(user):
    response = APIClient().post(URL, {"email": "ada@example.com"}, format="json")
    error = assert_error(response, 400)
    assert error["fields"]["password"][0]["code"] == "required"
    assert list(error["fields"]) == ["password"]


def test_malformed_json_is_400_parse_error(user):
    response = APIClient().post(
        URL, data='{"email": "ada@example.com", "password":', content_type="application/json"
    )
    assert_error(response, 400, "parse_error")


def test_get_is_405_method_not_allowed(user):
    assert_error(APIClient().get(URL), 405, "method_not_allowed")


def test_success_records_security_event_with_ip_and_request_id(user):
    response = _login(
        "ada@example.com", REMOTE_ADDR="203.0.113.7", HTTP_X_REQUEST_ID="req-login-ok-1"
    )
    assert response.status_code == 200
    event = SecurityEvent.objects.get()
    assert event.kind == SecurityEvent.Kind.LOGIN_SUCCEEDED
    assert event.actor == user
    assert event.email == "ada@example.com"
    assert event.ip == "203.0.113.7"
    assert event.request_id == "req-login-ok-1" == response["X-Request-ID"]


def test_failure_records_security_event_with_ip_and_request_id(user):
    response = _login("ADA@example.com", "wrong-password-1", REMOTE_ADDR="198.51.100.9")
    assert response.status_code == 401
    event = SecurityEvent.objects.get()
    assert event.kind == SecurityEvent.Kind.LOGIN_FAILED
    assert event.actor is None
    assert event.email == "ada@example.com"
    assert event.ip == "198.51.100.9"
    assert event.request_id == response["X-Request-ID"]
    assert event.request_id == response.json()["error"]["request_id"]


def _assert_throttled(response) -> None:
    assert_error(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_eleventh_attempt_from_one_ip_is_throttled(user):
    for n in range(10):
        response = _login(f"someone{n}@example.com", "wrong-password-1", REMOTE_ADDR="192.0.2.1")
        assert response.status_code == 401, n
    _assert_throttled(_login("ada@example.com", REMOTE_ADDR="192.0.2.1"))


def test_throttle_by_ip_does_not_block_another_ip(user):
    for n in range(11):
        _login(f"someone{n}@example.com", "wrong-password-1", REMOTE_ADDR="192.0.2.1")
    assert _login("ada@example.com", REMOTE_ADDR="192.0.2.2").status_code == 200


def test_eleventh_attempt_for_one_email_is_throttled_across_ips(user):
    for n in range(10):
        response = _login("ada@example.com", "wrong-password-1", REMOTE_ADDR=f"192.0.2.{n + 1}")
        assert response.status_code == 401, n
    _assert_throttled(_login("ADA@example.com", REMOTE_ADDR="192.0.2.200"))


def test_throttled_attempt_does_not_check_the_password(user):
    for n in range(10):
        _login("ada@example.com", "wrong-password-1", REMOTE_ADDR=f"192.0.2.{n + 1}")
    _assert_throttled(_login("ada@example.com", REMOTE_ADDR="192.0.2.200"))
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.LOGIN_SUCCEEDED).exists()


def test_signed_in_client_still_signs_in(user):
    # A stale or foreign Authorization header must not stop a login.
    client = client_for(UserFactory())
    client.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    response = client.post(URL, {"email": "ada@example.com", "password": PASSWORD}, format="json")
    assert response.status_code == 200
