"""PATCH/DELETE /api/v1/orgs/{slug}/members/{id}/: change a role, remove a member, leave."""

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.orgs.models import Membership, Organization, Role, SecurityEvent, User
from kore.orgs.services import api_token_create
from kore.orgs.tests.factories import MembershipFactory


def membership(org: Organization, user: User) -> Membership:
    return Membership.objects.get(organization=org, user=user)


def url(org: Organization, target: Membership | int) -> str:
    pk = target if isinstance(target, int) else target.pk
    return f"/api/v1/orgs/{org.slug}/members/{pk}/"


def role_of(org: Organization, user: User) -> str | None:
    row = Membership.objects.filter(organization=org, user=user).first()
    return row.role if row else None


# --- Changing roles -------------------------------------------------------------------------
def test_owner_promotes_member_to_owner(world):
    target = membership(world.org, world.member)
    response = client_for(world.owner).patch(url(world.org, target), {"role": "owner"})
    assert response.status_code == 200, response.json()
    assert response.json()["role"] == "owner"
    assert response.json()["email"] == world.member.email
    assert role_of(world.org, world.member) == Role.OWNER


def test_admin_promotes_member_to_admin(world):
    target = membership(world.org, world.member)
    response = client_for(world.admin).patch(url(world.org, target), {"role": "admin"})
    assert response.status_code == 200, response.json()
    assert role_of(world.org, world.member) == Role.ADMIN


def test_admin_demotes_another_admin(world):
    other_admin = MembershipFactory(organization=world.org, role=Role.ADMIN)
    response = client_for(world.admin).patch(url(world.org, other_admin), {"role": "viewer"})
    assert response.status_code == 200, response.json()
    assert role_of(world.org, other_admin.user) == Role.VIEWER


def test_role_change_is_recorded_in_the_security_log(world):
    target = membership(world.org, world.viewer)
    response = client_for(world.owner).patch(url(world.org, target), {"role": "member"})
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.ROLE_CHANGED)
    assert (event.actor, event.organization, event.email) == (
        world.owner,
        world.org,
        world.viewer.email,
    )
    assert event.detail == {"from": "viewer", "to": "member", "membership_id": target.pk}
    assert event.ip == "127.0.0.1"
    assert event.request_id == response["X-Request-ID"]


def test_admin_granting_owner_is_422_role_too_high(world):
    target = membership(world.org, world.member)
    response = client_for(world.admin).patch(url(world.org, target), {"role": "owner"})
    assert_error(response, 422, "role_too_high")
    assert role_of(world.org, world.member) == Role.MEMBER


def test_admin_granting_themself_owner_is_422_role_too_high(world):
    mine = membership(world.org, world.admin)
    response = client_for(world.admin).patch(url(world.org, mine), {"role": "owner"})
    assert_error(response, 422, "role_too_high")
    assert role_of(world.org, world.admin) == Role.ADMIN


def test_admin_cannot_demote_an_owner(world):
    target = membership(world.org, world.owner)
    response = client_for(world.admin).patch(url(world.org, target), {"role": "admin"})
    assert_error(response, 403, "permission_denied")
    assert role_of(world.org, world.owner) == Role.OWNER


def test_member_cannot_change_roles(world):
    target = membership(world.org, world.viewer)
    response = client_for(world.member).patch(url(world.org, target), {"role": "member"})
    assert_error(response, 403, "permission_denied")
    assert role_of(world.org, world.viewer) == Role.VIEWER


def test_member_cannot_promote_themself(world):
    mine = membership(world.org, world.member)
    response = client_for(world.member).patch(url(world.org, mine), {"role": "admin"})
    assert_error(response, 403, "permission_denied")
    assert role_of(world.org, world.member) == Role.MEMBER


def test_viewer_writing_is_403(world):
    target = membership(world.org, world.member)
    response = client_for(world.viewer).patch(url(world.org, target), {"role": "viewer"})
    assert_error(response, 403, "permission_denied")
    assert role_of(world.org, world.member) == Role.MEMBER


def test_last_owner_cannot_demote_themself(world):
    mine = membership(world.org, world.owner)
    response = client_for(world.owner).patch(url(world.org, mine), {"role": "admin"})
    assert_error(response, 409, "last_owner")
    assert role_of(world.org, world.owner) == Role.OWNER
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.ROLE_CHANGED).exists()


def test_owner_may_step_down_when_another_owner_remains(world):
    MembershipFactory(organization=world.org, role=Role.OWNER)
    mine = membership(world.org, world.owner)
    response = client_for(world.owner).patch(url(world.org, mine), {"role": "member"})
    assert response.status_code == 200, response.json()
    assert role_of(world.org, world.owner) == Role.MEMBER


def test_unknown_role_is_422(world):
    target = membership(world.org, world.member)
    response = client_for(world.owner).patch(url(world.org, target), {"role": "superuser"})
    error = assert_error(response, 422, "validation_failed")
    assert error["fields"]["role"][0]["code"] == "invalid_choice"


def test_missing_role_is_400(world):
    target = membership(world.org, world.member)
    response = client_for(world.owner).patch(url(world.org, target), {})
    error = assert_error(response, 400, "invalid_request")
    assert error["fields"]["role"][0]["code"] == "required"


def test_unknown_field_is_400(world):
    target = membership(world.org, world.member)
    response = client_for(world.owner).patch(
        url(world.org, target), {"role": "admin", "user": world.owner.pk}
    )
    assert_error(response, 400, "unknown_field")
    assert role_of(world.org, world.member) == Role.MEMBER


# --- Removing and leaving -------------------------------------------------------------------
def test_admin_removes_a_member(world):
    target = membership(world.org, world.member)
    response = client_for(world.admin).delete(url(world.org, target))
    assert response.status_code == 204
    assert role_of(world.org, world.member) is None


def test_owner_removes_another_owner(world):
    second = MembershipFactory(organization=world.org, role=Role.OWNER)
    response = client_for(world.owner).delete(url(world.org, second))
    assert response.status_code == 204
    assert role_of(world.org, second.user) is None


def test_removal_is_recorded_in_the_security_log(world):
    target = membership(world.org, world.member)
    response = client_for(world.admin).delete(url(world.org, target))
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.MEMBER_REMOVED)
    assert (event.actor, event.organization, event.email) == (
        world.admin,
        world.org,
        world.member.email,
    )
    assert event.ip == "127.0.0.1"
    assert event.request_id == response["X-Request-ID"]


def test_admin_cannot_remove_an_owner(world):
    target = membership(world.org, world.owner)
    response = client_for(world.admin).delete(url(world.org, target))
    assert_error(response, 403, "permission_denied")
    assert role_of(world.org, world.owner) == Role.OWNER


def test_member_cannot_remove_someone_else(world):
    target = membership(world.org, world.viewer)
    response = client_for(world.member).delete(url(world.org, target))
    assert_error(response, 403, "permission_denied")
    assert role_of(world.org, world.viewer) == Role.VIEWER


@pytest.mark.parametrize("who", ["admin", "member", "viewer"])
def test_anyone_may_leave(world, who):
    person = getattr(world, who)
    response = client_for(person).delete(url(world.org, membership(world.org, person)))
    assert response.status_code == 204
    assert role_of(world.org, person) is None
    assert_error(client_for(person).get(f"/api/v1/orgs/{world.org.slug}/"), 404, "not_found")


def test_last_owner_cannot_leave(world):
    mine = membership(world.org, world.owner)
    response = client_for(world.owner).delete(url(world.org, mine))
    assert_error(response, 409, "last_owner")
    assert role_of(world.org, world.owner) == Role.OWNER


def test_owner_may_leave_when_another_owner_remains(world):
    MembershipFactory(organization=world.org, role=Role.OWNER)
    response = client_for(world.owner).delete(url(world.org, membership(world.org, world.owner)))
    assert response.status_code == 204
    assert role_of(world.org, world.owner) is None


def test_api_token_cannot_make_its_creator_leave(world):
    _, raw = api_token_create(
        organization=world.org,
        creator=world.member,
        creator_role=Role.MEMBER,
        name="ci",
        role=Role.VIEWER,
    )
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.delete(url(world.org, membership(world.org, world.member)))
    assert_error(response, 403, "human_only")
    assert role_of(world.org, world.member) == Role.MEMBER


# --- Method, authentication, scoping --------------------------------------------------------
def test_get_is_405(world):
    target = membership(world.org, world.member)
    assert_error(client_for(world.owner).get(url(world.org, target)), 405, "method_not_allowed")


def test_put_is_405(world):
    target = membership(world.org, world.member)
    response = client_for(world.owner).put(url(world.org, target), {"role": "admin"})
    assert_error(response, 405, "method_not_allowed")


def test_unauthenticated_is_401(world):
    target = membership(world.org, world.member)
    assert_error(client_for(None).delete(url(world.org, target)), 401, "not_authenticated")
    assert role_of(world.org, world.member) == Role.MEMBER


def test_other_org_patch_is_404(world):
    target = membership(world.org, world.member)
    assert_other_org_is_404(world.outsider, "patch", url(world.org, target), {"role": "viewer"})
    assert role_of(world.org, world.member) == Role.MEMBER


def test_other_org_delete_is_404(world):
    target = membership(world.org, world.member)
    assert_other_org_is_404(world.outsider, "delete", url(world.org, target))
    assert role_of(world.org, world.member) == Role.MEMBER


def test_another_org_membership_through_my_org_url_is_404(world):
    theirs = membership(world.other_org, world.outsider)
    response = client_for(world.owner).delete(url(world.org, theirs))
    assert_error(response, 404, "not_found")
    assert role_of(world.other_org, world.outsider) == Role.OWNER


def test_unknown_membership_is_404(world):
    response = client_for(world.owner).patch(url(world.org, 999_999_999), {"role": "viewer"})
    assert_error(response, 404, "not_found")
