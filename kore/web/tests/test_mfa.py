"""Optional two-factor sign-in: turning it on needs a code from the app; signing in then needs
one after the password; wrong codes are refused and limited."""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.cache import cache

from kore.core.testing import OrgWorld
from kore.orgs.tests.factories import PASSWORD

from .helpers import browser, page


def code_for(secret: str, step: int = 0) -> str:
    """The code of the current time step (``step`` steps later or earlier)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + step))


def turn_on(client, user) -> str:
    body = client.get("/account/security/").content.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7=]+)<', body).group(1)
    assert 'src="data:image/svg+xml;base64,' in body  # the QR code, CSP-safe
    assert client.post("/account/security/", {"code": "000000"}).status_code == 422
    assert not Authenticator.objects.filter(user=user).exists()
    # The previous step's code (the tests accept one step either side): signing in right after
    # then uses the current one, as a code is accepted once only.
    response = client.post("/account/security/", {"code": code_for(secret, -1)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=user, type="totp").exists()
    return secret


@pytest.mark.django_db
def test_sign_in_asks_for_a_code_once_it_is_on(world: OrgWorld) -> None:
    secret = turn_on(browser(world.member), world.member)
    client = browser(None)
    response = client.post("/sign-in/", {"username": world.member.email, "password": PASSWORD})
    assert response["Location"] == "/sign-in/code/"
    assert client.get(page(world, "transactions/")).status_code == 302  # not signed in yet
    assert client.post("/sign-in/code/", {"code": "123456"}).status_code == 422
    response = client.post("/sign-in/code/", {"code": code_for(secret)})
    assert response.status_code == 302
    assert client.get(page(world, "transactions/")).status_code == 200


@pytest.mark.django_db
def test_five_wrong_codes_start_over(world: OrgWorld) -> None:
    turn_on(browser(world.member), world.member)
    client = browser(None)
    client.post("/sign-in/", {"username": world.member.email, "password": PASSWORD})
    for _ in range(4):
        assert client.post("/sign-in/code/", {"code": "999999"}).status_code == 422
    response = client.post("/sign-in/code/", {"code": "999999"})
    assert response["Location"] == "/sign-in/"
    assert client.get("/sign-in/code/")["Location"] == "/sign-in/"


@pytest.mark.django_db
def test_turning_it_off_needs_a_current_code(world: OrgWorld) -> None:
    client = browser(world.member)
    secret = turn_on(client, world.member)
    assert client.post("/account/security/", {"code": "000000"}).status_code == 422
    assert Authenticator.objects.filter(user=world.member).exists()
    assert client.post("/account/security/", {"code": code_for(secret)}).status_code == 302
    assert not Authenticator.objects.filter(user=world.member).exists()


@pytest.mark.django_db
def test_without_two_factor_the_password_is_enough(world: OrgWorld) -> None:
    client = browser(None)
    response = client.post("/sign-in/", {"username": world.member.email, "password": PASSWORD})
    assert response["Location"] == "/"
    assert client.get("/sign-in/code/")["Location"] == "/sign-in/"
    assert browser(None).get("/account/security/").status_code == 302


def _password_step(client, user) -> None:
    response = client.post("/sign-in/", {"username": user.email, "password": PASSWORD})
    assert response["Location"] == "/sign-in/code/"


@pytest.mark.django_db
def test_restarting_the_sign_in_does_not_reset_the_attempt_count(world: OrgWorld) -> None:
    secret = turn_on(browser(world.member), world.member)
    client = browser(None)
    for _ in range(4):
        _password_step(client, world.member)  # starting over each time
        assert client.post("/sign-in/code/", {"code": "999999"}).status_code == 422
    _password_step(client, world.member)
    assert client.post("/sign-in/code/", {"code": "999999"})["Location"] == "/sign-in/"
    cache.clear()  # the sign-in rate limits are spent too; the code count is not kept there
    _password_step(client, world.member)
    response = client.post("/sign-in/code/", {"code": code_for(secret)})
    assert response["Location"] == "/sign-in/"  # locked for a while, even with the right code
    assert client.get(page(world, "transactions/")).status_code == 302


@pytest.mark.django_db
def test_a_code_is_accepted_once_only(world: OrgWorld) -> None:
    secret = turn_on(browser(world.member), world.member)
    first = browser(None)
    _password_step(first, world.member)
    assert first.post("/sign-in/code/", {"code": code_for(secret)}).status_code == 302
    second = browser(None)
    _password_step(second, world.member)
    assert second.post("/sign-in/code/", {"code": code_for(secret)}).status_code == 422
    assert second.get(page(world, "transactions/")).status_code == 302


@pytest.mark.django_db
def test_turning_it_on_shows_recovery_codes_that_sign_in_once(world: OrgWorld) -> None:
    owner = browser(world.member)
    turn_on(owner, world.member)
    body = owner.get("/account/security/").content.decode()
    codes = re.findall(r'<li><code class="token">(\d{8})</code></li>', body)
    assert len(codes) == 10
    assert "recovery-codes" not in owner.get("/account/security/").content.decode()  # once
    client = browser(None)
    _password_step(client, world.member)
    assert client.post("/sign-in/code/", {"code": codes[0]}).status_code == 302
    assert client.get(page(world, "transactions/")).status_code == 200
    again = browser(None)
    _password_step(again, world.member)
    assert again.post("/sign-in/code/", {"code": codes[0]}).status_code == 422


@pytest.mark.django_db
def test_turning_it_on_ends_other_sessions_and_tokens_but_not_this_one(world: OrgWorld) -> None:
    from rest_framework.test import APIClient

    from kore.orgs.services import token_pair_issue

    elsewhere = browser(world.member)
    pair = token_pair_issue(user=world.member)
    here = browser(world.member)
    turn_on(here, world.member)
    assert here.get("/account/security/").status_code == 200
    assert elsewhere.get("/account/security/")["Location"].startswith("/sign-in/")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert api.get("/api/v1/me/").status_code == 401
    refresh = APIClient().post(
        "/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json"
    )
    assert refresh.status_code == 401


@pytest.mark.django_db
def test_the_admin_signs_in_through_the_code_step(world: OrgWorld) -> None:
    from kore.orgs.models import User

    User.objects.filter(pk=world.owner.pk).update(is_staff=True, is_superuser=True)
    secret = turn_on(browser(world.owner), world.owner)
    client = browser(None)
    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"
    assert client.get("/admin/login/?next=/admin/")["Location"] == "/sign-in/?next=%2Fadmin%2F"
    response = client.post(
        "/sign-in/?next=/admin/", {"username": world.owner.email, "password": PASSWORD}
    )
    assert response["Location"] == "/sign-in/code/"
    assert client.get("/admin/").status_code == 302  # the password alone opens nothing
    response = client.post("/sign-in/code/", {"code": code_for(secret)})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_the_admin_login_form_takes_no_password(world: OrgWorld) -> None:
    from kore.orgs.models import User

    User.objects.filter(pk=world.owner.pk).update(is_staff=True, is_superuser=True)
    turn_on(browser(world.owner), world.owner)
    client = browser(None)
    response = client.post(
        "/admin/login/", {"username": world.owner.email, "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/")
    assert "sessionid" not in response.cookies
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_a_signed_in_non_staff_person_is_refused_by_the_admin(world: OrgWorld) -> None:
    client = browser(world.member)
    assert client.get("/admin/login/?next=/admin/").status_code == 403


@pytest.mark.django_db
def test_the_browsable_api_login_is_gone(world: OrgWorld) -> None:
    client = browser(None)
    assert client.get("/api-auth/login/").status_code == 404
    response = client.post(
        "/api-auth/login/", {"username": world.member.email, "password": PASSWORD}
    )
    assert response.status_code in (403, 404)
    assert "sessionid" not in response.cookies


@pytest.mark.django_db
def test_code_guesses_count_against_the_sign_in_rate_limit(world: OrgWorld) -> None:
    secret = turn_on(browser(world.member), world.member)
    client = browser(None)
    _password_step(client, world.member)
    for _ in range(9):  # the address's other sign-in attempts spend the login_ip limit
        browser(None).post("/sign-in/", {"username": "nobody@example.com", "password": "x"})
    response = client.post("/sign-in/code/", {"code": code_for(secret)})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert client.get(page(world, "transactions/")).status_code == 302
