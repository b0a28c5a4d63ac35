"""What only a person may do: an API token (even an owner's owner token) never invites, manages
members or mints and revokes tokens (403 ``human_only``), and still reads what it read before.

A leaked admin token must not become a permanent human admin, nor a token that outlives its own
revocation.
"""

import pytest
from rest_framework.test import APIClient

from kore.core.testing import assert_error, client_for
from kore.orgs.models import ApiToken, Invitation, Membership, Organization, Role, User
from kore.orgs.services import api_token_create, invitation_create


def _token(world, creator: User | None = None, role: str = Role.ADMIN) -> APIClient:
    creator = creator or world.admin
    creator_role = Membership.objects.get(organization=world.org, user=creator).role
    _, raw = api_token_create(
        organization=world.org, creator=creator, creator_role=creator_role, name="ci", role=role
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _org(world, path: str = "") -> str:
    return f"/api/v1/orgs/{world.org.slug}/{path}"


def _membership(org: Organization, user: User) -> Membership:
    return Membership.objects.get(organization=org, user=user)


def _invitation(world) -> Invitation:
    invitation, _ = invitation_create(
        organization=world.org,
        invited_by=world.owner,
        inviter_role=Role.OWNER,
        email="pending@example.com",
        role=Role.MEMBER,
    )
    return invitation


# --- Invitations ------------------------------------------------------------------------------
@pytest.mark.parametrize("role", [Role.ADMIN, Role.MEMBER])
def test_admin_token_cannot_invite_and_never_sees_a_raw_invitation_token(world, role):
    response = _token(world).post(
        _org(world, "invitations/"), {"email": "mallory@example.com", "role": role}, format="json"
    )
    error = assert_error(response, 403, "human_only")
    assert "token" not in response.json()
    assert error["fields"] == {}
    assert not Invitation.objects.filter(email="mallory@example.com").exists()


def test_owner_token_cannot_invite_either(world):
    response = _token(world, world.owner, Role.OWNER).post(
        _org(world, "invitations/"), {"email": "mallory@example.com"}, format="json"
    )
    assert_error(response, 403, "human_only")
    assert not Invitation.objects.exists()


def test_admin_token_still_lists_invitations_without_their_tokens(world):
    invitation = _invitation(world)
    response = _token(world).get(_org(world, "invitations/"))
    assert response.status_code == 200, response.json()
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == [invitation.pk]
    assert "token" not in rows[0]


def test_admin_token_cannot_revoke_an_invitation(world):
    invitation = _invitation(world)
    response = _token(world).delete(_org(world, f"invitations/{invitation.pk}/"))
    assert_error(response, 403, "human_only")
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_person_still_invites_and_gets_the_token(world):
    response = client_for(world.admin).post(
        _org(world, "invitations/"), {"email": "new@example.com"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["token"]


# --- Members ----------------------------------------------------------------------------------
def test_admin_token_cannot_change_a_members_role(world):
    target = _membership(world.org, world.member)
    response = _token(world).patch(
        _org(world, f"members/{target.pk}/"), {"role": Role.ADMIN}, format="json"
    )
    assert_error(response, 403, "human_only")
    target.refresh_from_db()
    assert target.role == Role.MEMBER


def test_owner_token_cannot_demote_an_owner(world):
    target = _membership(world.org, world.admin)
    response = _token(world, world.owner, Role.OWNER).patch(
        _org(world, f"members/{target.pk}/"), {"role": Role.VIEWER}, format="json"
    )
    assert_error(response, 403, "human_only")
    target.refresh_from_db()
    assert target.role == Role.ADMIN


def test_admin_token_cannot_remove_a_member(world):
    target = _membership(world.org, world.viewer)
    response = _token(world).delete(_org(world, f"members/{target.pk}/"))
    assert_error(response, 403, "human_only")
    assert Membership.objects.filter(pk=target.pk).exists()


def test_token_cannot_make_its_own_creator_leave(world):
    target = _membership(world.org, world.member)
    client = _token(world, world.member, Role.VIEWER)
    assert_error(client.delete(_org(world, f"members/{target.pk}/")), 403, "human_only")
    assert Membership.objects.filter(pk=target.pk).exists()


def test_viewer_token_still_lists_members(world):
    response = _token(world, world.viewer, Role.VIEWER).get(_org(world, "members/"))
    assert response.status_code == 200, response.json()
    assert len(response.json()["results"]) == 4


# --- API tokens -------------------------------------------------------------------------------
def test_owner_token_cannot_create_a_token(world):
    client = _token(world, world.owner, Role.OWNER)
    response = client.post(_org(world, "api-tokens/"), {"name": "child"}, format="json")
    assert_error(response, 403, "human_only")
    assert "token" not in response.json()
    assert ApiToken.objects.count() == 1


def test_admin_token_cannot_revoke_a_token(world):
    victim, _ = api_token_create(
        organization=world.org,
        creator=world.member,
        creator_role=Role.MEMBER,
        name="x",
        role=Role.VIEWER,
    )
    response = _token(world).delete(_org(world, f"api-tokens/{victim.pk}/"))
    assert_error(response, 403, "human_only")
    victim.refresh_from_db()
    assert victim.revoked_at is None


def test_admin_token_still_lists_tokens(world):
    response = _token(world).get(_org(world, "api-tokens/"))
    assert response.status_code == 200, response.json()
    assert [t["name"] for t in response.json()["results"]] == ["ci"]


# --- The organisation and the security log ------------------------------------------------------
def test_owner_token_cannot_create_an_organisation(world):
    response = _token(world, world.owner, Role.OWNER).post(
        "/api/v1/orgs/", {"name": "Escape"}, format="json"
    )
    assert_error(response, 403, "human_only")
    assert not Organization.objects.filter(name="Escape").exists()


def test_admin_token_may_still_rename_the_organisation(world):
    # Name, time zone and currency grant no one any power: the token keeps this write.
    response = _token(world).patch(_org(world), {"name": "Renamed"}, format="json")
    assert response.status_code == 200, response.json()
    world.org.refresh_from_db()
    assert world.org.name == "Renamed"


def test_admin_token_still_reads_the_security_log(world):
    response = _token(world).get(_org(world, "security-events/"))
    assert response.status_code == 200, response.json()


# --- Order of the checks ----------------------------------------------------------------------
def test_a_token_on_another_organisation_is_still_404(world):
    response = _token(world).post(
        f"/api/v1/orgs/{world.other_org.slug}/invitations/",
        {"email": "mallory@example.com"},
        format="json",
    )
    assert_error(response, 404, "not_found")


def test_a_viewer_token_is_told_human_only_not_its_role(world):
    # The answer names what would help: no role would let a token invite.
    response = _token(world, world.viewer, Role.VIEWER).post(
        _org(world, "invitations/"), {"email": "mallory@example.com"}, format="json"
    )
    assert_error(response, 403, "human_only")
