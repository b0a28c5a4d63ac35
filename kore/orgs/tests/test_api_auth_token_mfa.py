"""POST /api/v1/auth/token/ for a person with two-factor sign-in on: the password alone gets
no tokens; a challenge (or the password) with a current code, or an unused recovery code, does.
"""

from typing import Any

import pytest
from rest_framework.test import APIClient

from kore.core.testing import assert_error
from kore.orgs.models import SecurityEvent, User
from kore.orgs.services import MFA_MAX_FAILURES
from kore.orgs.tests.factories import PASSWORD, UserFactory, totp_code, totp_turn_on

URL = "/api/v1/auth/token/"


def _post(data: dict[str, Any]) -> Any:
    return APIClient().post(URL, data, format="json")


def _works(access: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return bool(client.get("/api/v1/me/").status_code == 200)


@pytest.fixture
def person(db) -> User:
    return UserFactory(email="ada@example.com")


@pytest.fixture
def secret(person) -> str:
    return totp_turn_on(person)[0]


def _challenge(person: User) -> str:
    response = _post({"email": person.email, "password": PASSWORD})
    assert_error(response, 401, "mfa_required")
    return str(response.json()["challenge"])


def test_password_alone_gets_mfa_required_and_no_tokens(person, secret):
    response = _post({"email": person.email, "password": PASSWORD})
    assert_error(response, 401, "mfa_required")
    body = response.json()
    assert "access" not in body
    assert "refresh" not in body
    assert body["challenge"]
    assert body["challenge_expires_in"] == 300
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_challenge_with_the_current_code_returns_working_tokens(person, secret):
    response = _post({"challenge": _challenge(person), "code": totp_code(secret)})
    assert response.status_code == 200, response.json()
    assert _works(response.json()["access"])
    assert SecurityEvent.objects.filter(kind="login_succeeded", actor=person).exists()


def test_code_sent_with_the_password_returns_tokens_in_one_call(person, secret):
    response = _post({"email": person.email, "password": PASSWORD, "code": totp_code(secret)})
    assert response.status_code == 200, response.json()
    assert _works(response.json()["access"])


def test_a_code_with_a_wrong_password_is_still_authentication_failed(person, secret):
    response = _post({"email": person.email, "password": "wrong-password-1", "code": "123456"})
    assert_error(response, 401, "authentication_failed")


def test_replayed_code_is_refused(person, secret):
    code = totp_code(secret)
    assert _post({"challenge": _challenge(person), "code": code}).status_code == 200
    response = _post({"challenge": _challenge(person), "code": code})
    assert_error(response, 401, "mfa_code_invalid")
    assert "access" not in response.json()


def test_the_code_that_turned_it_on_cannot_sign_in(person, secret):
    response = _post({"challenge": _challenge(person), "code": totp_code(secret, -1)})
    assert_error(response, 401, "mfa_code_invalid")


def test_a_recovery_code_works_once(db):
    person = UserFactory()
    _, recovery = totp_turn_on(person)
    first = _post({"challenge": _challenge(person), "code": recovery[0]})
    assert first.status_code == 200, first.json()
    assert _works(first.json()["access"])
    again = _post({"challenge": _challenge(person), "code": recovery[0]})
    assert_error(again, 401, "mfa_code_invalid")
    other = _post({"email": person.email, "password": PASSWORD, "code": recovery[1]})
    assert other.status_code == 200


def test_wrong_codes_lock_the_second_step_across_new_sign_ins(person, secret):
    def sign_in(code: str) -> Any:  # each call starts the sign-in over, password included
        return _post({"email": person.email, "password": PASSWORD, "code": code})

    for _ in range(MFA_MAX_FAILURES - 1):
        assert_error(sign_in("000000"), 401, "mfa_code_invalid")
    locked = sign_in("000000")
    assert_error(locked, 429, "mfa_locked")
    assert int(locked["Retry-After"]) > 0
    assert_error(sign_in(totp_code(secret)), 429, "mfa_locked")


@pytest.mark.parametrize("code", ["١٢٣٤٥٦", "12 34 56x", "1" * 32])
def test_a_malformed_code_is_a_wrong_code_not_an_error(person, secret, code):
    response = _post({"email": person.email, "password": PASSWORD, "code": code})
    assert_error(response, 401, "mfa_code_invalid")


def test_a_forged_challenge_is_401(person, secret):
    response = _post({"challenge": "e30:forged:sig", "code": totp_code(secret)})
    assert_error(response, 401, "mfa_challenge_invalid")


def test_a_challenge_dies_with_a_password_change(person, secret):
    challenge = _challenge(person)
    person.set_password("another-passphrase-42")
    person.save()
    response = _post({"challenge": challenge, "code": totp_code(secret)})
    assert_error(response, 401, "mfa_challenge_invalid")


def test_a_challenge_without_a_code_is_400(person, secret):
    response = _post({"challenge": _challenge(person)})
    error = assert_error(response, 400)
    assert set(error["fields"]) == {"code"}


def test_without_two_factor_the_password_alone_is_enough(person):
    response = _post({"email": person.email, "password": PASSWORD})
    assert response.status_code == 200
    assert _works(response.json()["access"])
