"""POST /api/v1/auth/register/: open signup, off unless KORE_OPEN_SIGNUP."""

import pytest
from rest_framework.test import APIClient

from kore.core.testing import assert_error
from kore.orgs.models import Membership, SecurityEvent, User
from kore.orgs.tests.factories import UserFactory

URL = "/api/v1/auth/register/"
GOOD_PASSWORD = "plum-tractor-lantern-42"


def _register(body, **extra):
    return APIClient().post(URL, body, format="json", **extra)


@pytest.fixture
def open_signup(settings, db):
    settings.KORE_OPEN_SIGNUP = True
    return settings


def test_signup_is_closed_by_default(db):
    response = _register({"email": "new@example.com", "password": GOOD_PASSWORD})
    assert_error(response, 403, "signup_closed")
    assert not User.objects.filter(email="new@example.com").exists()


def test_closed_signup_is_403_even_for_a_malformed_body(db):
    response = _register({"nonsense": 1})
    assert_error(response, 403, "signup_closed")


def test_open_signup_creates_the_user(open_signup):
    response = _register(
        {"email": "New@Example.com", "password": GOOD_PASSWORD, "full_name": "New Person"}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"id", "email", "full_name", "date_joined"}
    assert body["email"] == "new@example.com"
    user = User.objects.get(pk=body["id"])
    assert (user.email, user.full_name) == ("new@example.com", "New Person")
    assert user.check_password(GOOD_PASSWORD)
    assert (user.is_active, user.is_staff, user.is_superuser) == (True, False, False)


def test_new_user_belongs_to_no_organisation(open_signup):
    body = _register({"email": "new@example.com", "password": GOOD_PASSWORD}).json()
    assert not Membership.objects.filter(user_id=body["id"]).exists()


def test_new_user_can_sign_in(open_signup):
    _register({"email": "new@example.com", "password": GOOD_PASSWORD})
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"email": "new@example.com", "password": GOOD_PASSWORD},
        format="json",
    )
    assert response.status_code == 200


def test_response_never_contains_the_password(open_signup):
    response = _register({"email": "new@example.com", "password": GOOD_PASSWORD})
    assert GOOD_PASSWORD not in response.content.decode()
    assert "password" not in response.json()


def test_signup_records_a_security_event(open_signup):
    response = _register(
        {"email": "new@example.com", "password": GOOD_PASSWORD}, REMOTE_ADDR="203.0.113.44"
    )
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.SIGNUP)
    assert event.actor_id == response.json()["id"]
    assert event.ip == "203.0.113.44"
    assert event.request_id == response["X-Request-ID"]


@pytest.mark.parametrize(
    "password",
    ["short1!", "password123", "1234567890123", "new@example.com"],
    ids=["too-short", "common", "numeric", "like-the-email"],
)
def test_weak_password_is_422_password_too_weak(open_signup, password):
    response = _register({"email": "new@example.com", "password": password})
    error = assert_error(response, 422, "password_too_weak")
    assert error["fields"]["password"][0]["code"] == "password_too_weak"
    assert not User.objects.filter(email="new@example.com").exists()


def test_duplicate_email_is_409_email_taken(open_signup):
    UserFactory(email="taken@example.com")
    response = _register({"email": "TAKEN@example.com", "password": GOOD_PASSWORD})
    assert_error(response, 409, "email_taken")
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


def test_invalid_email_is_400(open_signup):
    response = _register({"email": "not-an-email", "password": GOOD_PASSWORD})
    error = assert_error(response, 400)
    assert list(error["fields"]) == ["email"]


def test_unknown_field_is_400_unknown_field(open_signup):
    response = _register({"email": "new@example.com", "password": GOOD_PASSWORD, "is_staff": True})
    assert_error(response, 400, "unknown_field")
    assert not User.objects.filter(email="new@example.com").exists()


def test_password_as_number_is_400_invalid_type(open_signup):
    response = _register({"email": "new@example.com", "password": 12345678901234})
    assert_error(response, 400, "invalid_type")


def test_full_name_longer_than_150_is_422(open_signup):
    response = _register(
        {"email": "new@example.com", "password": GOOD_PASSWORD, "full_name": "x" * 151}
    )
    error = assert_error(response, 422)
    assert error["fields"]["full_name"][0]["code"] == "max_length"


def test_signup_is_throttled_per_ip(open_signup):
    for n in range(10):
        response = _register(
            {"email": f"n{n}@example.com", "password": "short"}, REMOTE_ADDR="192.0.2.9"
        )
        assert response.status_code == 422, n
    response = _register(
        {"email": "late@example.com", "password": GOOD_PASSWORD}, REMOTE_ADDR="192.0.2.9"
    )
    assert_error(response, 429, "throttled")
    assert not User.objects.filter(email="late@example.com").exists()
