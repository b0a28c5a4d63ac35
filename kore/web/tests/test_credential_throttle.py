"""Web sign-in and password reset share the API login's limits (per client address, per email)."""

import re

import pytest
from django.test import Client

from config.celery_app import app as celery_app
from kore.core import throttling
from kore.core.testing import client_for
from kore.orgs.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
SIGN_IN = "/sign-in/"
RESET = "/password-reset/"
API_LOGIN = "/api/v1/auth/token/"
API_RESET = "/api/v1/auth/password-reset/"


@pytest.fixture
def clock(monkeypatch):
    now = [6_000_005.0]  # five seconds into a one-minute window
    monkeypatch.setattr(throttling.time, "time", lambda: now[0])
    return now


@pytest.fixture
def eager_mail(mailoutbox):
    """Emails sent in-process (as in the embedded runtime) into the test outbox."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield mailoutbox
    celery_app.conf.task_always_eager = eager


def _sign_in(client: Client, email: str, password: str, ip: str = "127.0.0.1"):
    return client.post(SIGN_IN, {"username": email, "password": password}, REMOTE_ADDR=ip)


def _same_page(body: bytes) -> str:
    """The page without what differs on every response (CSP nonce, CSRF token)."""
    text = body.decode()
    text = re.sub(r'nonce="[^"]*"', "", text)
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", text)


def test_the_eleventh_wrong_password_is_refused_and_then_the_right_one_too(clock):
    user = UserFactory(email="ada@example.test")
    client = Client()
    for _ in range(10):
        assert _sign_in(client, user.email, "wrong-guess").status_code == 200
    refused = _sign_in(client, user.email, "wrong-guess")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "Too many attempts" in refused.content.decode()
    assert refused["Content-Type"].startswith("text/html")

    right = _sign_in(client, user.email, PASSWORD)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_right_password_works_again_once_the_window_has_passed(clock):
    user = UserFactory(email="ada@example.test")
    client = Client()
    for _ in range(11):
        _sign_in(client, user.email, "wrong-guess")
    clock[0] += 121  # the refused minute and the one it weighs on have both slid out
    assert _sign_in(client, user.email, PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_spreading_guesses_over_addresses_is_still_limited_per_email(clock):
    user = UserFactory(email="ada@example.test")
    for n in range(10):
        _sign_in(Client(), user.email, "wrong-guess", ip=f"198.51.100.{n}")
    assert _sign_in(Client(), user.email, PASSWORD, ip="203.0.113.9").status_code == 429


def test_api_login_attempts_count_against_the_web_sign_in(clock):
    user = UserFactory(email="ada@example.test")
    api = client_for(None)
    for _ in range(10):
        api.post(API_LOGIN, {"email": user.email, "password": "wrong"}, format="json")
    assert _sign_in(Client(), user.email, PASSWORD).status_code == 429


def test_web_sign_in_attempts_count_against_the_api_login(clock):
    user = UserFactory(email="ada@example.test")
    for _ in range(10):
        _sign_in(Client(), user.email, "wrong-guess")
    response = client_for(None).post(
        API_LOGIN, {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 429


def test_reset_answers_the_same_for_a_known_and_an_unknown_address(eager_mail):
    UserFactory(email="ada@example.test")
    known = Client().post(RESET, {"email": "ada@example.test"})
    unknown = Client().post(RESET, {"email": "nobody@example.test"}, REMOTE_ADDR="192.0.2.7")
    assert known.status_code == unknown.status_code == 200
    assert _same_page(known.content) == _same_page(unknown.content)


def test_api_reset_answers_the_same_for_a_known_and_an_unknown_address():
    UserFactory(email="ada@example.test")
    known = client_for(None).post(API_RESET, {"email": "ada@example.test"}, format="json")
    unknown = client_for(None).post(API_RESET, {"email": "nobody@example.test"}, format="json")
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content == b""


def test_twelve_web_reset_requests_send_at_most_the_limit(
    clock, eager_mail, django_capture_on_commit_callbacks
):
    UserFactory(email="ada@example.test")
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        codes = [client.post(RESET, {"email": "ada@example.test"}).status_code for _ in range(12)]
    assert codes == [200] * 10 + [429] * 2
    assert len(eager_mail) == 10


def test_twelve_api_reset_requests_send_at_most_the_limit(
    clock, eager_mail, django_capture_on_commit_callbacks
):
    UserFactory(email="ada@example.test")
    api = client_for(None)
    with django_capture_on_commit_callbacks(execute=True):
        codes = [
            api.post(API_RESET, {"email": "ada@example.test"}, format="json").status_code
            for _ in range(12)
        ]
    assert codes == [202] * 10 + [429] * 2
    assert len(eager_mail) == 10


def test_web_and_api_resets_share_one_limit_per_address(
    clock, eager_mail, django_capture_on_commit_callbacks
):
    UserFactory(email="ada@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(10):
            client_for(None).post(
                API_RESET, {"email": "ada@example.test"}, format="json", REMOTE_ADDR=f"192.0.2.{n}"
            )
        refused = Client().post(RESET, {"email": "ada@example.test"}, REMOTE_ADDR="203.0.113.1")
    assert refused.status_code == 429
    assert len(eager_mail) == 10


def test_reset_link_guesses_are_limited(clock):
    client = Client()
    form = {"uid": "MQ", "token": "guess", "password": "a-new-passphrase-77"}
    codes = [client.post("/password-reset/confirm/", form).status_code for _ in range(11)]
    assert codes == [422] * 10 + [429]


def test_a_throttled_reset_sends_nothing(clock, eager_mail, django_capture_on_commit_callbacks):
    UserFactory(email="ada@example.test")
    for _ in range(10):
        _sign_in(Client(), "someone@example.test", "wrong-guess")  # same client address
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(RESET, {"email": "ada@example.test"})
    assert response.status_code == 429
    assert eager_mail == []
