"""Optional two-factor sign-in: turning it on needs a code from the app; signing in then needs
one after the password; wrong codes are refused and limited."""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

from kore.core.testing import OrgWorld
from kore.orgs.tests.factories import PASSWORD

from .helpers import browser, page


def code_for(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def turn_on(client, user) -> str:
    body = client.get("/account/security/").content.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7=]+)<', body).group(1)
    assert 'src="data:image/svg+xml;base64,' in body  # the QR code, CSP-safe
    assert client.post("/account/security/", {"code": "000000"}).status_code == 422
    assert not Authenticator.objects.filter(user=user).exists()
    response = client.post("/account/security/", {"code": code_for(secret)})
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
    Authenticator.objects.filter(user=world.member).update(data={"secret": secret})
    from django.core.cache import cache

    cache.clear()  # forget that the activation code was used
    assert client.post("/account/security/", {"code": code_for(secret)}).status_code == 302
    assert not Authenticator.objects.filter(user=world.member).exists()


@pytest.mark.django_db
def test_without_two_factor_the_password_is_enough(world: OrgWorld) -> None:
    client = browser(None)
    response = client.post("/sign-in/", {"username": world.member.email, "password": PASSWORD})
    assert response["Location"] == "/"
    assert client.get("/sign-in/code/")["Location"] == "/sign-in/"
    assert browser(None).get("/account/security/").status_code == 302
