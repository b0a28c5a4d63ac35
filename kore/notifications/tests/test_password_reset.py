"""Password reset end to end: request, the email, confirm, sign in with the new password."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache

from kore.core.testing import assert_error, client_for
from kore.orgs.tests.factories import PASSWORD, UserFactory

from .conftest import parts

pytestmark = pytest.mark.django_db
RESET = "/api/v1/auth/password-reset/"
CONFIRM = "/api/v1/auth/password-reset/confirm/"
TOKEN = "/api/v1/auth/token/"
NEW = "a-much-better-passphrase-42"


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    def _post(path, body):
        with django_capture_on_commit_callbacks(execute=True):
            return client_for(None).post(path, body, format="json")

    return _post


def _link(smtp_server) -> tuple[str, str, str]:
    (message,) = smtp_server.wait_for(1)
    text, html = parts(message)
    url = re.search(r"https://kore\.test/password-reset/confirm/\?\S+", text).group(0)
    query = parse_qs(urlsplit(url).query)
    assert url.replace("&", "&amp;") in html
    return url, query["uid"][0], query["token"][0]


def test_reset_end_to_end(smtp_server, post):
    user = UserFactory(email="ada@example.test")
    refresh = post(TOKEN, {"email": user.email, "password": PASSWORD}).json()["refresh"]
    response = post(RESET, {"email": "ADA@example.test"})
    assert response.status_code == 202
    assert response.content == b""
    (envelope,) = smtp_server.envelopes
    assert envelope.rcpt_tos == ["ada@example.test"]
    assert smtp_server.messages[0]["Subject"] == "Reset your Kore password"
    _, uid, token = _link(smtp_server)

    # A sign-in moves last_login, which Django's token covers: request, then confirm.
    assert post(CONFIRM, {"uid": uid, "token": token, "password": NEW}).status_code == 204

    cache.clear()  # the sign-in throttle
    assert_error(post(TOKEN, {"email": user.email, "password": PASSWORD}), 401)
    assert post(TOKEN, {"email": user.email, "password": NEW}).status_code == 200
    # Refresh tokens issued before the reset are revoked.
    assert_error(post("/api/v1/auth/token/refresh/", {"refresh": refresh}), 401)
    # The link works once.
    again = post(CONFIRM, {"uid": uid, "token": token, "password": NEW + "x"})
    assert_error(again, 422, "password_reset_invalid")


def test_unknown_email_is_202_and_sends_nothing(smtp_server, post):
    UserFactory(email="someone@example.test")
    response = post(RESET, {"email": "nobody@example.test"})
    assert response.status_code == 202
    assert response.content == b""
    assert smtp_server.envelopes == []


def test_inactive_account_gets_no_email(smtp_server, post):
    UserFactory(email="gone@example.test", is_active=False)
    assert post(RESET, {"email": "gone@example.test"}).status_code == 202
    assert smtp_server.envelopes == []


@pytest.mark.parametrize(
    ("uid", "token"),
    [("", "x"), ("not-base64!", "abc-def"), ("MQ", "abc-def"), ("OTk5OTk5", "abc-def")],
)
def test_bad_link_is_422(smtp_server, post, uid, token):
    UserFactory()
    body = {"uid": uid, "token": token, "password": NEW}
    response = post(CONFIRM, body)
    if uid == "":
        assert_error(response, 422, "validation_failed")  # a blank field, not a bad link
    else:
        assert_error(response, 422, "password_reset_invalid")


def test_bad_token_for_a_real_user_is_422(smtp_server, post):
    user = UserFactory(email="ada@example.test")
    post(RESET, {"email": user.email})
    _, uid, token = _link(smtp_server)
    assert_error(post(CONFIRM, {"uid": uid, "token": token[:-2] + "zz", "password": NEW}), 422,
                 "password_reset_invalid")  # fmt: skip
    assert user.__class__.objects.get(pk=user.pk).check_password(PASSWORD)


def test_weak_password_is_422_and_the_link_stays_valid(smtp_server, post):
    user = UserFactory(email="ada@example.test")
    post(RESET, {"email": user.email})
    _, uid, token = _link(smtp_server)
    weak = post(CONFIRM, {"uid": uid, "token": token, "password": "123"})
    error = assert_error(weak, 422, "password_too_weak")
    assert "password" in error["fields"]
    assert post(CONFIRM, {"uid": uid, "token": token, "password": NEW}).status_code == 204


def test_reset_requests_are_throttled_like_sign_in(smtp_server, post, settings):
    UserFactory(email="ada@example.test")
    codes = [post(RESET, {"email": "ada@example.test"}).status_code for _ in range(12)]
    assert codes[:10] == [202] * 10
    assert codes[10:] == [429, 429]
    assert len(smtp_server.envelopes) == 10
