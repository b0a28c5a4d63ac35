"""Settings actions (revoke a token, invite, change or remove a member, create a token) are POSTs
from the page's own forms, with CSRF; a link to them is 405 and changes nothing."""

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from kore.core.testing import OrgWorld
from kore.orgs.models import ApiToken, Invitation, Membership, Role
from kore.orgs.services import api_token_create

from .helpers import browser, page


def _token(world: OrgWorld) -> tuple[ApiToken, str]:
    return api_token_create(
        organization=world.org, creator=world.admin, creator_role=Role.ADMIN, name="ci",
        role=Role.MEMBER,
    )  # fmt: skip


def test_a_revoke_link_is_405_and_the_token_keeps_working(world: OrgWorld) -> None:
    token, raw = _token(world)
    response = browser(world.owner).get(page(world, f"settings/tokens/{token.pk}/revoke/"))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    token.refresh_from_db()
    assert token.revoked_at is None
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get(f"/api/v1/orgs/{world.org.slug}/").status_code == 200


@pytest.mark.parametrize("path", ["settings/invite/", "settings/tokens/"])
def test_create_actions_refuse_get(world: OrgWorld, path: str) -> None:
    response = browser(world.owner).get(
        page(world, path), {"email": "x@example.com", "name": "ci", "role": "admin"}
    )
    assert response.status_code == 405
    assert not Invitation.objects.exists()
    assert not ApiToken.objects.exists()


def test_member_change_refuses_get(world: OrgWorld) -> None:
    target = Membership.objects.get(organization=world.org, user=world.member)
    response = browser(world.owner).get(
        page(world, f"settings/members/{target.pk}/"), {"remove": "1"}
    )
    assert response.status_code == 405
    assert Membership.objects.filter(pk=target.pk, role=Role.MEMBER).exists()


def test_the_revoke_button_posts_with_csrf_and_revokes(world: OrgWorld) -> None:
    token, _ = _token(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.owner)
    html = client.get(page(world, "settings/")).content.decode()
    action = page(world, f"settings/tokens/{token.pk}/revoke/")
    form = re.search(rf'<form method="post" action="{re.escape(action)}">(.*?)</form>', html)
    assert form is not None, "the revoke control is a POST form"
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(1))
    assert csrf is not None
    response = client.post(action, {"csrfmiddlewaretoken": csrf.group(1)})
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_revoke_post_without_csrf_is_refused(world: OrgWorld) -> None:
    token, _ = _token(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.owner)
    response = client.post(page(world, f"settings/tokens/{token.pk}/revoke/"))
    assert response.status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None
