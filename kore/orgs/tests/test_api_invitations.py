"""/api/v1/orgs/{slug}/invitations/ and …/{id}/: list, invite (token shown once), revoke."""

import hashlib

import pytest
from django.utils import timezone

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.orgs.models import Invitation, Organization, Role, SecurityEvent, User
from kore.orgs.services import invitation_create


def url(org: Organization) -> str:
    return f"/api/v1/orgs/{org.slug}/invitations/"


def detail_url(org: Organization, invitation: Invitation | int) -> str:
    pk = invitation if isinstance(invitation, int) else invitation.pk
    return f"{url(org)}{pk}/"


def invite(org: Organization, by: User, email: str = "new@example.com", role: str = Role.MEMBER):
    invitation, _ = invitation_create(
        organization=org, invited_by=by, inviter_role=Role.OWNER, email=email, role=role
    )
    return invitation


# --- Creating ---------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owner_and_admin_invite_and_get_the_token_once(world, who):
    response = client_for(getattr(world, who)).post(
        url(world.org), {"email": "New.Person@Example.com", "role": "member"}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"id", "email", "role", "created_at", "expires_at", "token", "accept_url"}
    assert body["email"] == "new.person@example.com"
    assert body["role"] == "member"
    assert body["accept_url"].endswith(f"/invitations/accept/?token={body['token']}")
    assert len(body["token"]) >= 32


def test_only_the_sha256_of_the_token_is_stored(world):
    body = client_for(world.owner).post(url(world.org), {"email": "x@example.com"}).json()
    invitation = Invitation.objects.get(pk=body["id"])
    assert invitation.token_hash == hashlib.sha256(body["token"].encode()).hexdigest()
    stored = [str(v) for v in Invitation.objects.filter(pk=body["id"]).values().get().values()]
    assert body["token"] not in stored


def test_token_is_not_shown_again_in_the_list(world):
    created = client_for(world.owner).post(url(world.org), {"email": "x@example.com"}).json()
    rows = client_for(world.owner).get(url(world.org)).json()["results"]
    assert [r["id"] for r in rows] == [created["id"]]
    assert "token" not in rows[0]
    assert "accept_url" not in rows[0]
    assert "token_hash" not in rows[0]


def test_invitation_expires_after_the_configured_ttl(world, settings):
    settings.KORE_INVITATION_TTL_HOURS = 5
    before = timezone.now()
    body = client_for(world.owner).post(url(world.org), {"email": "x@example.com"}).json()
    invitation = Invitation.objects.get(pk=body["id"])
    hours = (invitation.expires_at - before).total_seconds() / 3600
    assert 4.99 < hours < 5.01


def test_role_defaults_to_member(world):
    body = client_for(world.admin).post(url(world.org), {"email": "x@example.com"}).json()
    assert body["role"] == "member"


def test_owner_may_invite_an_owner(world):
    response = client_for(world.owner).post(
        url(world.org), {"email": "x@example.com", "role": "owner"}
    )
    assert response.status_code == 201, response.json()


def test_admin_inviting_an_owner_is_422_role_too_high(world):
    response = client_for(world.admin).post(
        url(world.org), {"email": "x@example.com", "role": "owner"}
    )
    assert_error(response, 422, "role_too_high")
    assert not Invitation.objects.exists()


def test_inviting_an_existing_member_is_409(world):
    response = client_for(world.owner).post(url(world.org), {"email": world.viewer.email.upper()})
    assert_error(response, 409, "already_member")
    assert not Invitation.objects.exists()


def test_inviting_a_member_of_another_organisation_is_allowed(world):
    response = client_for(world.owner).post(url(world.org), {"email": world.outsider.email})
    assert response.status_code == 201, response.json()


def test_creation_is_recorded_with_actor_ip_and_request_id(world):
    response = client_for(world.admin).post(url(world.org), {"email": "x@example.com"})
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.INVITATION_CREATED)
    assert (event.actor, event.organization, event.email) == (
        world.admin,
        world.org,
        "x@example.com",
    )
    assert event.ip == "127.0.0.1"
    assert event.request_id == response["X-Request-ID"]


@pytest.mark.parametrize("who", ["member", "viewer"])
def test_member_and_viewer_cannot_invite(world, who):
    response = client_for(getattr(world, who)).post(url(world.org), {"email": "x@example.com"})
    assert_error(response, 403, "permission_denied")
    assert not Invitation.objects.exists()


def test_malformed_email_is_400(world):
    response = client_for(world.owner).post(url(world.org), {"email": "not-an-email"})
    error = assert_error(response, 400)
    assert "email" in error["fields"]


def test_missing_email_is_400(world):
    error = assert_error(client_for(world.owner).post(url(world.org), {}), 400, "invalid_request")
    assert error["fields"]["email"][0]["code"] == "required"


def test_unknown_role_is_422(world):
    response = client_for(world.owner).post(
        url(world.org), {"email": "x@example.com", "role": "god"}
    )
    error = assert_error(response, 422, "validation_failed")
    assert error["fields"]["role"][0]["code"] == "invalid_choice"


def test_unknown_field_is_400(world):
    response = client_for(world.owner).post(
        url(world.org), {"email": "x@example.com", "token_hash": "0" * 64}
    )
    assert_error(response, 400, "unknown_field")
    assert not Invitation.objects.exists()


# --- Listing --------------------------------------------------------------------------------
def test_list_shows_pending_invitations_only(world):
    pending = invite(world.org, world.owner, "pending@example.com")
    accepted = invite(world.org, world.owner, "accepted@example.com")
    Invitation.objects.filter(pk=accepted.pk).update(accepted_at=timezone.now())
    invite(world.other_org, world.outsider, "theirs@example.com")

    rows = client_for(world.admin).get(url(world.org)).json()["results"]

    assert [r["id"] for r in rows] == [pending.pk]


@pytest.mark.parametrize("who", ["member", "viewer"])
def test_member_and_viewer_cannot_list(world, who):
    assert_error(client_for(getattr(world, who)).get(url(world.org)), 403, "permission_denied")


def test_put_on_list_is_405(world):
    response = client_for(world.owner).put(url(world.org), {"email": "x@example.com"})
    assert_error(response, 405, "method_not_allowed")


def test_unauthenticated_is_401(world):
    response = client_for(None).post(url(world.org), {"email": "x@example.com"})
    assert_error(response, 401, "not_authenticated")
    assert not Invitation.objects.exists()


def test_other_org_list_is_404(world):
    assert_other_org_is_404(world.outsider, "get", url(world.org))


def test_other_org_invite_is_404(world):
    assert_other_org_is_404(world.outsider, "post", url(world.org), {"email": "x@example.com"})
    assert not Invitation.objects.exists()


# --- Revoking -------------------------------------------------------------------------------
def test_admin_revokes_a_pending_invitation(world):
    invitation = invite(world.org, world.owner)
    response = client_for(world.admin).delete(detail_url(world.org, invitation))
    assert response.status_code == 204
    assert not Invitation.objects.filter(pk=invitation.pk).exists()


def test_revoking_an_accepted_invitation_is_409(world):
    invitation = invite(world.org, world.owner)
    Invitation.objects.filter(pk=invitation.pk).update(accepted_at=timezone.now())
    response = client_for(world.owner).delete(detail_url(world.org, invitation))
    assert_error(response, 409, "invitation_used")
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_member_cannot_revoke(world):
    invitation = invite(world.org, world.owner)
    response = client_for(world.member).delete(detail_url(world.org, invitation))
    assert_error(response, 403, "permission_denied")
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_get_on_detail_is_405(world):
    invitation = invite(world.org, world.owner)
    response = client_for(world.owner).get(detail_url(world.org, invitation))
    assert_error(response, 405, "method_not_allowed")


def test_unauthenticated_revoke_is_401(world):
    invitation = invite(world.org, world.owner)
    assert_error(client_for(None).delete(detail_url(world.org, invitation)), 401)
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_other_org_revoke_is_404(world):
    invitation = invite(world.org, world.owner)
    assert_other_org_is_404(world.outsider, "delete", detail_url(world.org, invitation))
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_another_org_invitation_through_my_org_url_is_404(world):
    theirs = invite(world.other_org, world.outsider)
    response = client_for(world.owner).delete(detail_url(world.org, theirs))
    assert_error(response, 404, "not_found")
    assert Invitation.objects.filter(pk=theirs.pk).exists()


def test_unknown_invitation_is_404(world):
    response = client_for(world.owner).delete(detail_url(world.org, 999_999_999))
    assert_error(response, 404, "not_found")
