"""Membership changes in the audit trail: joining, role changes, removal, and who did them."""

from typing import Any

from rest_framework.test import APIClient

from kore.core.audit import current_api_token_id
from kore.core.testing import client_for
from kore.orgs.models import Membership, Role, User
from kore.orgs.services import api_token_create, invitation_create
from kore.orgs.tests.factories import UserFactory


def _memberships(world, org=None, **params: Any) -> list[dict[str, Any]]:
    org = org or world.org
    owner = world.owner if org == world.org else world.outsider
    response = client_for(owner).get(
        f"/api/v1/orgs/{org.slug}/audit/", {"object_type": "membership", "limit": 500, **params}
    )
    assert response.status_code == 200, response.json()
    return list(response.json()["results"])


def _actor(user: User | None, token_id: int | None = None) -> dict[str, Any]:
    if user is None:
        return {"user_id": None, "email": None, "api_token_id": None}
    return {"user_id": user.pk, "email": user.email, "api_token_id": token_id}


def _member_url(world, membership: Membership) -> str:
    return f"/api/v1/orgs/{world.org.slug}/members/{membership.pk}/"


def test_role_change_is_recorded_with_before_and_after(world):
    membership = Membership.objects.get(organization=world.org, user=world.viewer)
    response = client_for(world.admin).patch(
        _member_url(world, membership), {"role": "member"}, format="json"
    )
    assert response.status_code == 200, response.json()
    entry = _memberships(world, object_id=membership.pk)[0]
    assert entry["id"].startswith("membership:")
    assert entry["action"] == "updated"
    assert entry["actor"] == _actor(world.admin)
    assert entry["request_id"] == response["X-Request-ID"]
    assert entry["changes"] == {"role": {"before": "viewer", "after": "member"}}


def test_removal_is_recorded(world):
    membership = Membership.objects.get(organization=world.org, user=world.member)
    response = client_for(world.owner).delete(_member_url(world, membership))
    assert response.status_code == 204
    entry = _memberships(world, object_id=membership.pk)[0]
    assert entry["action"] == "deleted"
    assert entry["actor"] == _actor(world.owner)
    assert entry["request_id"] == response["X-Request-ID"]
    assert entry["changes"]["role"] == {"before": "member"}
    assert entry["changes"]["user"] == {"before": world.member.pk}


def test_joining_by_invitation_is_recorded(world):
    joiner = UserFactory()
    _, raw = invitation_create(
        organization=world.org,
        invited_by=world.owner,
        inviter_role=Role.OWNER,
        email=joiner.email,
        role=Role.VIEWER,
    )
    response = client_for(joiner).post("/api/v1/invitations/accept/", {"token": raw})
    assert response.status_code == 201, response.json()
    membership = Membership.objects.get(organization=world.org, user=joiner)
    entry = _memberships(world, object_id=membership.pk)[0]
    assert entry["action"] == "created"
    assert entry["actor"] == _actor(joiner)
    assert entry["request_id"] == response["X-Request-ID"]
    assert entry["changes"]["role"] == {"after": "viewer"}
    assert entry["changes"]["user"] == {"after": joiner.pk}


def test_creating_an_organisation_records_its_first_owner(world):
    response = client_for(world.outsider).post(
        "/api/v1/orgs/", {"name": "Fresh", "slug": "fresh-audit"}, format="json"
    )
    assert response.status_code == 201, response.json()
    org = world.outsider.memberships.get(organization__slug="fresh-audit").organization
    entries = _memberships(world, org=org)
    assert [e["action"] for e in entries] == ["created"]
    assert entries[0]["actor"] == _actor(world.outsider)
    assert entries[0]["request_id"] == response["X-Request-ID"]
    assert entries[0]["changes"]["role"] == {"after": "owner"}


def test_change_refused_to_an_api_token_leaves_no_entry(world):
    _, raw = api_token_create(
        organization=world.org,
        creator=world.owner,
        creator_role=Role.OWNER,
        name="hr-sync",
        role=Role.ADMIN,
    )
    membership = Membership.objects.get(organization=world.org, user=world.viewer)
    before = _memberships(world, object_id=membership.pk)
    machine = APIClient()
    machine.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = machine.patch(_member_url(world, membership), {"role": "member"}, format="json")
    assert response.status_code == 403, response.json()
    assert _memberships(world, object_id=membership.pk) == before


def test_a_token_never_leaks_into_a_later_request(world):
    """A stale token id in this thread (as a previous request could leave) is reset first."""
    current_api_token_id.set(987654)
    try:
        membership = Membership.objects.get(organization=world.org, user=world.viewer)
        response = client_for(world.owner).patch(
            _member_url(world, membership), {"role": "member"}, format="json"
        )
        assert response.status_code == 200, response.json()
        assert current_api_token_id.get() is None  # and cleared once the response is done
    finally:
        current_api_token_id.set(None)
    entry = _memberships(world, object_id=membership.pk)[0]
    assert entry["actor"] == _actor(world.owner)


def test_other_organisations_memberships_are_not_listed(world):
    listed = {e["object_id"] for e in _memberships(world)}
    ours = set(Membership.objects.filter(organization=world.org).values_list("pk", flat=True))
    assert listed == ours
