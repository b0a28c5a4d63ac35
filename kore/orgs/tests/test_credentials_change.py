"""A password reset or change, or turning two-factor sign-in on, ends the person's JWTs and
sessions issued before it at once (``User.credentials_changed_at``); later ones keep working."""

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from rest_framework.test import APIClient

from kore.core.testing import assert_error
from kore.orgs.models import Role, User
from kore.orgs.services import (
    api_token_create,
    password_reset_url,
    token_pair_issue,
)
from kore.orgs.tests.factories import PASSWORD, MembershipFactory, UserFactory, totp_turn_on

NEW = "a-much-better-passphrase-42"
ME = "/api/v1/me/"


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _reset(user: User, password: str = NEW) -> None:
    user.refresh_from_db()  # a sign-in moved last_login, which the reset link covers
    query = parse_qs(urlsplit(password_reset_url(user)).query)
    body = {"uid": query["uid"][0], "token": query["token"][0], "password": password}
    response = APIClient().post("/api/v1/auth/password-reset/confirm/", body, format="json")
    assert response.status_code == 204, response.content


def _refresh(raw: str) -> Any:
    return APIClient().post("/api/v1/auth/token/refresh/", {"refresh": raw}, format="json")


@pytest.fixture
def person(db) -> User:
    return UserFactory()


def test_password_reset_ends_an_access_token_at_once(person):
    pair = token_pair_issue(user=person)
    assert _bearer(pair["access"]).get(ME).status_code == 200
    _reset(person)
    assert_error(_bearer(pair["access"]).get(ME), 401, "token_revoked")


def test_password_reset_refuses_the_refresh_token(person):
    pair = token_pair_issue(user=person)
    _reset(person)
    assert_error(_refresh(pair["refresh"]), 401)


def test_a_token_issued_right_after_the_reset_works(person):
    _reset(person)
    pair = token_pair_issue(user=person)  # within the same second as the reset
    assert _bearer(pair["access"]).get(ME).status_code == 200
    assert _refresh(pair["refresh"]).status_code == 200


def test_password_reset_ends_web_sessions(person):
    browser = Client()
    browser.force_login(person)
    assert browser.get("/account/security/").status_code == 200
    _reset(person)
    assert browser.get("/account/security/")["Location"].startswith("/sign-in/")


def test_password_change_in_the_admin_ends_the_persons_tokens(person):
    pair = token_pair_issue(user=person)
    staff = UserFactory(is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(staff)
    response = admin.post(
        f"/admin/orgs/user/{person.pk}/password/",
        {"password1": NEW, "password2": NEW, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:300]
    person.refresh_from_db()
    assert person.check_password(NEW)
    assert_error(_bearer(pair["access"]).get(ME), 401, "token_revoked")


def test_turning_two_factor_on_ends_tokens_issued_before(person):
    pair = token_pair_issue(user=person)
    totp_turn_on(person)
    assert_error(_bearer(pair["access"]).get(ME), 401, "token_revoked")
    assert_error(_refresh(pair["refresh"]), 401)


def test_organisation_api_tokens_outlive_a_password_reset(person):
    # An API token is the organisation's machine credential, revoked on its own page; the
    # person's password is not what it stands on.
    membership = MembershipFactory(user=person, role=Role.ADMIN)
    _, raw = api_token_create(
        organization=membership.organization,
        creator=person,
        creator_role=Role.ADMIN,
        name="ci",
        role=Role.VIEWER,
    )
    _reset(person)
    response = _bearer(raw).get(f"/api/v1/orgs/{membership.organization.slug}/accounts/")
    assert response.status_code == 200


def test_rehashing_the_same_password_on_sign_in_keeps_tokens(person, settings):
    pair = token_pair_issue(user=person)
    # A stronger hasher first: the next sign-in re-hashes the same password.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    old_hash = person.password
    assert (
        APIClient()
        .post("/api/v1/auth/token/", {"email": person.email, "password": PASSWORD}, format="json")
        .status_code
        == 200
    )
    person.refresh_from_db()
    assert person.password != old_hash
    assert _bearer(pair["access"]).get(ME).status_code == 200


def test_the_check_adds_no_query_to_an_authenticated_request(person):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _reset(person)  # credentials_changed_at is set
    client = _bearer(token_pair_issue(user=person)["access"])
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).status_code == 200
    # The one statement that loads the user also brings the revocation and the timestamp.
    assert len(queries) == 1, [q["sql"] for q in queries]
