"""Every page: anonymous → sign-in, outsider → 404, roles as the API has them, CSP on."""

import pytest

from kore.core.testing import OrgWorld

from .helpers import browser, ledger, page

READ_PAGES = [
    "",
    "transactions/",
    "accounts/",
    "categories/",
    "reconcile/",
    "reports/",
    "imports/",
    "transactions/new/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", [*READ_PAGES, "settings/"])
def test_anonymous_is_sent_to_sign_in(world: OrgWorld, path: str) -> None:
    response = browser(None).get(page(world, path))
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/?next=")


@pytest.mark.django_db
@pytest.mark.parametrize("path", [*READ_PAGES, "settings/"])
def test_other_organisation_is_404(world: OrgWorld, path: str) -> None:
    response = browser(world.outsider).get(page(world, path))
    assert response.status_code == 404
    assert world.org.name not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("path", READ_PAGES)
def test_viewer_reads_every_page(world: OrgWorld, path: str) -> None:
    ledger(world)
    response = browser(world.viewer).get(page(world, path))
    assert response.status_code == 200, path


@pytest.mark.django_db
def test_settings_need_admin(world: OrgWorld) -> None:
    assert browser(world.member).get(page(world, "settings/")).status_code == 403
    assert browser(world.admin).get(page(world, "settings/")).status_code == 200
    assert browser(world.owner).get(page(world, "settings/")).status_code == 200


@pytest.mark.django_db
def test_viewer_cannot_write(world: OrgWorld) -> None:
    data = ledger(world)
    client = browser(world.viewer)
    response = client.post(
        page(world, "accounts/"),
        {"name": "X", "kind": "bank", "currency": "EUR", "opening_balance": "0"},
    )
    assert response.status_code == 403
    tx = data["txs"][0]
    response = client.post(
        page(world, f"transactions/{tx.pk}/inline/"), {"status": "cleared", "etag": f'"{tx.pk}-1"'}
    )
    assert response.status_code == 403
    tx.refresh_from_db()
    assert tx.status == "pending"


@pytest.mark.django_db
def test_viewer_sees_no_edit_controls(world: OrgWorld) -> None:
    ledger(world)
    body = browser(world.viewer).get(page(world, "transactions/")).content.decode()
    assert "Lunch 0" in body
    assert 'id="bulk"' not in body
    assert "Add transaction" not in body


@pytest.mark.django_db
def test_strict_csp_on_pages_and_api(world: OrgWorld) -> None:
    response = browser(world.owner).get(page(world, "transactions/"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    body = response.content.decode()
    assert "<script>" not in body
    assert " style=" not in body
    assert "hx-on" not in body
    assert browser(None).get("/sign-in/")["Content-Security-Policy"] == csp


@pytest.mark.django_db
def test_sign_in_and_out(world: OrgWorld) -> None:
    from kore.orgs.tests.factories import PASSWORD

    client = browser(None)
    assert "csrfmiddlewaretoken" in client.get("/sign-in/").content.decode()
    response = client.post(
        "/sign-in/", {"username": world.owner.email, "password": "wrong-one-123"}
    )
    assert response.status_code == 200
    assert "correct email" in response.content.decode()
    response = client.post("/sign-in/", {"username": world.owner.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # one organisation: straight to it
    assert client.get("/", follow=True).request["PATH_INFO"] == page(world)  # its overview
    assert client.get("/sign-out/").status_code == 405  # only POST signs out
    client.post("/sign-out/")
    assert client.get(page(world, "transactions/")).status_code == 302


@pytest.mark.django_db
def test_csrf_is_enforced(world: OrgWorld) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.owner)
    response = client.post(page(world, "accounts/"), {"name": "X"})
    assert response.status_code == 403
