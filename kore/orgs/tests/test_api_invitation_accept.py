"""POST /api/v1/invitations/accept/: join by invitation, creating the account when needed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.orgs.models import Invitation, Membership, Organization, Role, SecurityEvent, User
from kore.orgs.services import api_token_create, invitation_create
from kore.orgs.tests.factories import PASSWORD, UserFactory

URL = "/api/v1/invitations/accept/"
NEW_PASSWORD = "plum-tractor-velvet-42"


def invite(org: Organization, by: User, email: str = "new@example.com", role: str = Role.MEMBER):
    """An invitation and its one-time token, made the way the API makes them."""
    return invitation_create(
        organization=org, invited_by=by, inviter_role=Role.OWNER, email=email, role=role
    )


# --- A new account --------------------------------------------------------------------------
@pytest.mark.parametrize("open_signup", [False, True])
def test_accepting_creates_the_account_and_membership(world, settings, open_signup):
    settings.KORE_OPEN_SIGNUP = open_signup
    invitation, raw = invite(world.org, world.owner, role=Role.ADMIN)

    response = client_for(None).post(
        URL, {"token": raw, "password": NEW_PASSWORD, "full_name": "Nina New"}
    )

    assert response.status_code == 201, response.json()
    assert response.json()["email"] == "new@example.com"
    assert response.json()["role"] == "admin"
    user = User.objects.get(email="new@example.com")
    assert user.full_name == "Nina New"
    assert user.check_password(NEW_PASSWORD)
    assert Membership.objects.get(organization=world.org, user=user).role == Role.ADMIN
    invitation.refresh_from_db()
    assert invitation.accepted_by == user
    assert invitation.accepted_at is not None


def test_new_account_can_sign_in_and_see_the_organisation(world):
    _, raw = invite(world.org, world.owner)
    client_for(None).post(URL, {"token": raw, "password": NEW_PASSWORD})

    signed_in = client_for(None).post(
        "/api/v1/auth/token/", {"email": "new@example.com", "password": NEW_PASSWORD}
    )

    assert signed_in.status_code == 200, signed_in.json()
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {signed_in.json()['access']}")
    org = client.get(f"/api/v1/orgs/{world.org.slug}/")
    assert org.status_code == 200
    assert org.json()["role"] == "member"


def test_acceptance_is_recorded_with_actor_ip_and_request_id(world):
    _, raw = invite(world.org, world.owner)
    response = client_for(None).post(URL, {"token": raw, "password": NEW_PASSWORD})
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.INVITATION_ACCEPTED)
    assert event.actor == User.objects.get(email="new@example.com")
    assert event.organization == world.org
    assert event.ip == "127.0.0.1"
    assert event.request_id == response["X-Request-ID"]


def test_new_account_without_password_is_422(world):
    _, raw = invite(world.org, world.owner)
    response = client_for(None).post(URL, {"token": raw})
    error = assert_error(response, 422, "password_required")
    assert "password" in error["fields"]
    assert not User.objects.filter(email="new@example.com").exists()


def test_new_account_with_weak_password_is_422_and_invitation_stays_open(world):
    invitation, raw = invite(world.org, world.owner)
    response = client_for(None).post(URL, {"token": raw, "password": "12345678"})
    assert_error(response, 422, "password_too_weak")
    assert not User.objects.filter(email="new@example.com").exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


# --- Someone signed in ----------------------------------------------------------------------
def test_signed_in_with_the_invited_email_joins(world):
    _, raw = invite(world.other_org, world.outsider, email=world.viewer.email.upper())
    response = client_for(world.viewer).post(URL, {"token": raw})
    assert response.status_code == 201, response.json()
    assert Membership.objects.get(organization=world.other_org, user=world.viewer).role == "member"


def test_signed_in_with_a_different_email_is_403(world):
    invitation, raw = invite(world.org, world.owner, email="someone.else@example.com")
    response = client_for(world.outsider).post(URL, {"token": raw})
    assert_error(response, 403, "permission_denied")
    assert not Membership.objects.filter(organization=world.org, user=world.outsider).exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_existing_account_unauthenticated_is_401(world):
    person = UserFactory(email="known@example.com")
    invitation, raw = invite(world.org, world.owner, email="known@example.com")
    response = client_for(None).post(URL, {"token": raw, "password": NEW_PASSWORD})
    assert_error(response, 401, "not_authenticated")
    person.refresh_from_db()
    assert person.check_password(PASSWORD)  # the password was not replaced
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_already_a_member_is_409(world):
    _, raw = invite(world.org, world.owner, email="later@example.com")
    person = UserFactory(email="later@example.com")
    Membership.objects.create(organization=world.org, user=person, role=Role.VIEWER)
    assert_error(client_for(person).post(URL, {"token": raw}), 409, "already_member")
    assert Membership.objects.get(organization=world.org, user=person).role == Role.VIEWER


def test_api_token_cannot_accept_for_its_creator(world):
    _, raw = invite(world.other_org, world.outsider, email=world.admin.email)
    _, secret = api_token_create(
        organization=world.org,
        creator=world.admin,
        creator_role=Role.ADMIN,
        name="ci",
        role="admin",
    )
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert_error(client.post(URL, {"token": raw}), 403, "human_only")
    assert not Membership.objects.filter(organization=world.other_org, user=world.admin).exists()


# --- The token ------------------------------------------------------------------------------
def test_reused_invitation_is_409(world):
    _, raw = invite(world.org, world.owner)
    assert client_for(None).post(URL, {"token": raw, "password": NEW_PASSWORD}).status_code == 201
    response = client_for(None).post(URL, {"token": raw, "password": NEW_PASSWORD})
    assert_error(response, 409, "invitation_used")


def test_expired_invitation_is_422(world):
    invitation, raw = invite(world.org, world.owner)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = client_for(None).post(URL, {"token": raw, "password": NEW_PASSWORD})
    assert_error(response, 422, "invitation_expired")
    assert not User.objects.filter(email="new@example.com").exists()


def test_unknown_token_is_422(world):
    response = client_for(None).post(URL, {"token": "nope-" * 8, "password": NEW_PASSWORD})
    assert_error(response, 422, "invitation_invalid")


def test_the_stored_hash_is_not_a_token(world):
    invitation, _ = invite(world.org, world.owner)
    response = client_for(None).post(
        URL, {"token": invitation.token_hash, "password": NEW_PASSWORD}
    )
    assert_error(response, 422, "invitation_invalid")


def test_missing_token_is_400(world):
    response = client_for(None).post(URL, {"password": NEW_PASSWORD})
    error = assert_error(response, 400, "invalid_request")
    assert error["fields"]["token"][0]["code"] == "required"


def test_non_string_token_is_400(world):
    assert_error(client_for(None).post(URL, {"token": 123}), 400, "invalid_type")


def test_unknown_field_is_400(world):
    _, raw = invite(world.org, world.owner)
    response = client_for(None).post(URL, {"token": raw, "password": NEW_PASSWORD, "role": "owner"})
    assert_error(response, 400, "unknown_field")
    assert not User.objects.filter(email="new@example.com").exists()


# --- Method, authentication, scoping --------------------------------------------------------
def test_get_is_405(world):
    assert_error(client_for(world.owner).get(URL), 405, "method_not_allowed")


def test_invalid_credentials_are_401_not_anonymous(world):
    _, raw = invite(world.org, world.owner)
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    assert_error(client.post(URL, {"token": raw, "password": NEW_PASSWORD}), 401, "token_invalid")
    assert not User.objects.filter(email="new@example.com").exists()


def test_joining_one_organisation_reveals_no_other(world):
    _, raw = invite(world.org, world.owner)
    client_for(None).post(URL, {"token": raw, "password": NEW_PASSWORD})
    newcomer = User.objects.get(email="new@example.com")
    assert_other_org_is_404(newcomer, "get", f"/api/v1/orgs/{world.other_org.slug}/")
