"""'Sign in with Google' (allauth's OpenID Connect provider) against a local OpenID Connect
provider stand-in (npm oidc-provider, tests/oidc/provider.mjs) in Debian's Chromium: the whole
round trip, real HTTP between Kore and the provider. Off and invisible when unset."""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from django.conf import settings as django_settings

from config.settings.base import google_sign_in
from kore.core.testing import OrgWorld
from kore.core.testing_binaries import debian_binary
from kore.orgs.models import User
from kore.orgs.tests.factories import totp_turn_on

from .conftest import shot
from .helpers import browser
from .test_mfa import code_for, turn_on

ROOT = Path(django_settings.BASE_DIR)
STAND_IN = ROOT / "tests" / "oidc"
CLIENT_ID, SECRET = "kore-test-client", "kore-test-secret"  # the stand-in's


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _install_stand_in() -> None:
    if (STAND_IN / "node_modules" / "oidc-provider" / "package.json").exists():
        return
    npm = debian_binary("npm", "npm")  # the OIDC stand-in's packages
    debian_binary("node", "nodejs")
    subprocess.run(
        [npm, "ci", "--silent", "--no-audit", "--no-fund", "--prefix", str(STAND_IN)],
        check=True,
        timeout=300,
    )


@pytest.fixture
def google(live_server: Any, settings: Any) -> Iterator[str]:
    """The stand-in provider on a free port, and Kore configured for it as GOOGLE_* would."""
    _install_stand_in()
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    callback = f"{live_server.url}/accounts/oidc/google/login/callback/"
    proc = subprocess.Popen(
        ["node", str(STAND_IN / "provider.mjs"), str(port), CLIENT_ID, SECRET, callback],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"the OIDC stand-in did not start:\n{out}")
            time.sleep(0.1)
        settings.SOCIALACCOUNT_PROVIDERS = google_sign_in(CLIENT_ID, SECRET, issuer)
        policy = json.loads(json.dumps(settings.CONTENT_SECURITY_POLICY))
        policy["DIRECTIVES"]["form-action"].append(issuer)
        settings.CONTENT_SECURITY_POLICY = policy
        yield issuer
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def google_round_trip(page: Any, login: str, *, next_path: str = "") -> None:
    """From Kore's sign-in page through the provider's login and consent, back to Kore."""
    page.goto(page.base + "/sign-in/" + (f"?next={next_path}" if next_path else ""))
    page.click("text=Sign in with Google")
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "anything")
    page.click("button.login-submit")
    page.wait_for_selector("text=Continue")
    page.click("text=Continue")
    page.wait_for_url(page.base + "/**")


pytestmark = pytest.mark.django_db(transaction=True)


def test_a_google_account_signs_in_its_kore_user(web_page: Any, world: OrgWorld, google) -> None:
    page = web_page
    page.goto(page.base + "/sign-in/")
    shot(page, "sign-in-with-google")
    google_round_trip(page, world.member.email)
    page.wait_for_selector("#overview")  # signed in: the overview
    assert f"/o/{world.org.slug}/" in page.url
    shot(page, "signed-in-with-google")
    linked = SocialAccount.objects.get(user=world.member)
    assert linked.provider == "google"
    assert linked.uid == world.member.email  # the provider's `sub`
    assert User.objects.filter(email__iexact=world.member.email).count() == 1
    # The next time the link itself signs in, whatever the email.
    page.context.clear_cookies()
    google_round_trip(page, world.member.email)
    page.wait_for_selector("#overview")  # signed in: the overview


def test_a_new_google_account_becomes_a_kore_user(web_page: Any, world: OrgWorld, google) -> None:
    page = web_page
    google_round_trip(page, "newcomer@example.com")
    page.wait_for_selector("text=You are not in an organisation yet")
    user = User.objects.get(email="newcomer@example.com")
    assert user.full_name == "Test newcomer"
    assert not user.has_usable_password()
    assert not user.memberships.exists()


def test_an_unverified_google_email_is_refused(web_page: Any, world: OrgWorld, google) -> None:
    page = web_page
    victim = User.objects.create_user(email="unverified.ann@example.com", password="x" * 12)
    google_round_trip(page, victim.email)
    assert page.locator("text=did not confirm an email address").count() == 1
    assert not SocialAccount.objects.exists()
    page.goto(page.base + f"/o/{world.org.slug}/transactions/")
    assert "/sign-in/" in page.url  # not signed in


def test_two_factor_still_asks_for_the_code(web_page: Any, world: OrgWorld, google) -> None:
    page = web_page
    secret = turn_on(browser(world.member), world.member)
    assert Authenticator.objects.filter(user=world.member).exists()
    google_round_trip(page, world.member.email, next_path=f"/o/{world.org.slug}/reports/")
    assert page.url.endswith("/sign-in/code/")
    page.fill("#id_code", code_for(secret))
    page.click("button[type=submit]")
    page.wait_for_url(f"**/o/{world.org.slug}/reports/")


def test_a_recovery_code_finishes_a_google_sign_in_once(
    web_page: Any, world: OrgWorld, google
) -> None:
    page = web_page
    _, recovery = totp_turn_on(world.member)
    google_round_trip(page, world.member.email)
    assert page.url.endswith("/sign-in/code/")  # a verified Google account still needs a code
    page.fill("#id_code", recovery[0])
    page.click("button[type=submit]")
    page.wait_for_selector("#overview")  # signed in: the overview
    page.context.clear_cookies()
    google_round_trip(page, world.member.email)
    page.fill("#id_code", recovery[0])
    page.click("button[type=submit]")
    page.wait_for_selector("text=wrong or was already used")
    assert page.url.endswith("/sign-in/code/")


def test_off_and_invisible_without_google_settings(client, world: OrgWorld) -> None:
    assert django_settings.SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"] == []
    body = client.get("/sign-in/").content.decode()
    assert "Sign in with" not in body
    assert "/accounts/oidc/" not in body
    assert client.post("/accounts/oidc/google/login/").status_code == 404


@pytest.mark.parametrize("configured", [True, False])
def test_google_settings_come_from_the_environment(configured: bool) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOOGLE_")}
    if configured:
        env.update(GOOGLE_CLIENT_ID="id-from-env", GOOGLE_CLIENT_SECRET="secret-from-env")
    code = (
        "import django; django.setup(); from django.conf import settings as s; import json;"
        "print(json.dumps([s.SOCIALACCOUNT_PROVIDERS['openid_connect']['APPS'],"
        " s.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action']]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    apps, form_action = json.loads(out.strip().splitlines()[-1])
    if configured:
        assert [(a["provider_id"], a["client_id"]) for a in apps] == [("google", "id-from-env")]
        assert apps[0]["settings"]["server_url"] == "https://accounts.google.com"
        assert form_action == ["'self'", "https://accounts.google.com"]
    else:
        assert (apps, form_action) == ([], ["'self'"])
