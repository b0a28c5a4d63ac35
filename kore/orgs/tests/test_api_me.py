"""GET/PATCH /api/v1/me/: the signed-in person."""

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from kore.core.testing import assert_error, client_for
from kore.orgs.models import User
from kore.orgs.services import api_token_create
from kore.orgs.tests.factories import UserFactory

URL = "/api/v1/me/"


def _bearer(value: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {value}")
    return client


@pytest.fixture
def user(db) -> User:
    return UserFactory(email="grace@example.com", full_name="Grace Hopper")


def test_get_returns_my_profile(user):
    response = client_for(user).get(URL)
    assert response.status_code == 200
    assert response.json() == {
        "id": user.pk,
        "email": "grace@example.com",
        "full_name": "Grace Hopper",
        "date_joined": response.json()["date_joined"],
    }
    assert response.json()["date_joined"]


def test_get_never_shows_the_password_hash(user):
    body = client_for(user).get(URL).content.decode()
    assert "password" not in body
    assert user.password not in body


def test_patch_changes_my_full_name(user):
    response = client_for(user).patch(URL, {"full_name": "Rear Admiral Hopper"}, format="json")
    assert response.status_code == 200
    assert response.json()["full_name"] == "Rear Admiral Hopper"
    user.refresh_from_db()
    assert user.full_name == "Rear Admiral Hopper"


def test_patch_does_not_change_someone_else(user):
    other = UserFactory(full_name="Someone Else")
    client_for(user).patch(URL, {"full_name": "Changed"}, format="json")
    other.refresh_from_db()
    assert other.full_name == "Someone Else"


def test_patch_may_blank_the_full_name(user):
    response = client_for(user).patch(URL, {"full_name": ""}, format="json")
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.full_name == ""


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=150))
def test_patch_round_trips_any_printable_full_name(user, name):
    response = client_for(user).patch(URL, {"full_name": name}, format="json")
    assert response.status_code == 200, response.json()
    user.refresh_from_db()
    # Leading and trailing whitespace is trimmed; nothing else changes.
    assert user.full_name == name.strip() == response.json()["full_name"]


def test_patch_cannot_change_my_email(user):
    response = client_for(user).patch(URL, {"email": "evil@example.com"}, format="json")
    assert_error(response, 400, "unknown_field")
    user.refresh_from_db()
    assert user.email == "grace@example.com"


def test_patch_full_name_too_long_is_422(user):
    response = client_for(user).patch(URL, {"full_name": "x" * 151}, format="json")
    assert_error(response, 422)


def test_patch_full_name_as_number_is_400_invalid_type(user):
    response = client_for(user).patch(URL, {"full_name": 42}, format="json")
    assert_error(response, 400, "invalid_type")


def test_expired_access_token_is_401_token_expired(user):
    access = AccessToken.for_user(user)
    access.set_exp(from_time=timezone.now() - timedelta(hours=2))
    assert_error(_bearer(str(access)).get(URL), 401, "token_expired")


def test_garbage_token_is_401_token_invalid(user):
    assert_error(_bearer("garbage").get(URL), 401, "token_invalid")


def test_refresh_token_used_as_access_is_401_token_invalid(user):
    assert_error(_bearer(str(RefreshToken.for_user(user))).get(URL), 401, "token_invalid")


def test_token_of_an_inactive_user_is_401_token_invalid(user):
    client = client_for(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_error(client.get(URL), 401, "token_invalid")


def test_malformed_authorization_header_is_401_token_invalid(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer one two")
    assert_error(client.get(URL), 401, "token_invalid")


def test_no_header_is_401_not_authenticated_with_www_authenticate(db):
    response = APIClient().get(URL)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "header", ["Bearer garbage", "Bearer kore_deadbeef_" + "x" * 30, "Bearer kore_nope"]
)
def test_every_401_carries_www_authenticate(user, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(URL)
    assert_error(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_api_token_reads_its_creator(world):
    _, raw = api_token_create(
        organization=world.org,
        creator=world.member,
        creator_role="member",
        name="ci",
        role="viewer",
    )
    response = _bearer(raw).get(URL)
    assert response.status_code == 200
    assert response.json()["email"] == world.member.email


def test_api_token_cannot_change_its_creator(world):
    _, raw = api_token_create(
        organization=world.org,
        creator=world.member,
        creator_role="member",
        name="ci",
        role="member",
    )
    response = _bearer(raw).patch(URL, {"full_name": "Owned"}, format="json")
    assert_error(response, 403, "human_only")
    world.member.refresh_from_db()
    assert world.member.full_name != "Owned"
