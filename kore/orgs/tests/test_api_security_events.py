"""GET /api/v1/orgs/{slug}/security-events/: the organisation's security log (admins+)."""

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.orgs.models import Membership, Organization, SecurityEvent
from kore.orgs.services import security_event_record


def url(org: Organization) -> str:
    return f"/api/v1/orgs/{org.slug}/security-events/"


def events_of(client, org: Organization, kind: str) -> list[dict]:
    return [e for e in client.get(url(org)).json()["results"] if e["kind"] == kind]


def test_role_change_appears_with_actor_ip_and_request_id(world):
    owner = client_for(world.owner)
    target = Membership.objects.get(organization=world.org, user=world.member)
    caused = owner.patch(
        f"/api/v1/orgs/{world.org.slug}/members/{target.pk}/",
        {"role": "viewer"},
        HTTP_X_REQUEST_ID="change-role-request-0001",
    )
    assert caused.status_code == 200

    [event] = events_of(owner, world.org, "role_changed")

    assert caused["X-Request-ID"] == "change-role-request-0001"
    assert event["request_id"] == "change-role-request-0001"
    assert event["actor"] == world.owner.email
    assert event["email"] == world.member.email
    assert event["ip"] == "127.0.0.1"
    assert event["detail"] == {"from": "member", "to": "viewer", "membership_id": target.pk}


def test_member_removal_appears_with_actor_ip_and_request_id(world):
    admin = client_for(world.admin)
    target = Membership.objects.get(organization=world.org, user=world.viewer)
    caused = admin.delete(f"/api/v1/orgs/{world.org.slug}/members/{target.pk}/")
    assert caused.status_code == 204

    [event] = events_of(admin, world.org, "member_removed")

    assert (event["actor"], event["email"], event["ip"]) == (
        world.admin.email,
        world.viewer.email,
        "127.0.0.1",
    )
    assert event["request_id"] == caused["X-Request-ID"]


def test_invitation_created_and_accepted_appear_with_actor_ip_and_request_id(world):
    owner = client_for(world.owner)
    created = owner.post(f"/api/v1/orgs/{world.org.slug}/invitations/", {"email": "n@example.com"})
    accepted = client_for(None).post(
        "/api/v1/invitations/accept/",
        {"token": created.json()["token"], "password": "plum-tractor-velvet-42"},
    )
    assert accepted.status_code == 201, accepted.json()

    [made] = events_of(owner, world.org, "invitation_created")
    [joined] = events_of(owner, world.org, "invitation_accepted")

    assert (made["actor"], made["email"], made["ip"]) == (
        world.owner.email,
        "n@example.com",
        "127.0.0.1",
    )
    assert made["request_id"] == created["X-Request-ID"]
    assert (joined["actor"], joined["email"], joined["ip"]) == (
        "n@example.com",
        "n@example.com",
        "127.0.0.1",
    )
    assert joined["request_id"] == accepted["X-Request-ID"]


def test_newest_event_comes_first(world):
    for n in range(3):
        security_event_record(
            kind=SecurityEvent.Kind.ROLE_CHANGED,
            organization=world.org,
            actor=world.owner,
            detail={"n": n},
        )
    rows = client_for(world.owner).get(url(world.org)).json()["results"]
    assert [r["detail"]["n"] for r in rows] == [2, 1, 0]


def test_only_this_organisation_s_events_are_listed(world):
    security_event_record(kind=SecurityEvent.Kind.ROLE_CHANGED, organization=world.other_org)
    security_event_record(kind=SecurityEvent.Kind.LOGIN_FAILED, email="x@example.com")
    mine = security_event_record(kind=SecurityEvent.Kind.MEMBER_REMOVED, organization=world.org)
    rows = client_for(world.admin).get(url(world.org)).json()["results"]
    assert [r["id"] for r in rows] == [mine.pk]


@pytest.mark.parametrize("who", ["member", "viewer"])
def test_member_and_viewer_cannot_read_the_log(world, who):
    security_event_record(kind=SecurityEvent.Kind.ROLE_CHANGED, organization=world.org)
    response = client_for(getattr(world, who)).get(url(world.org))
    assert_error(response, 403, "permission_denied")


def test_post_is_405(world):
    assert_error(client_for(world.owner).post(url(world.org), {}), 405, "method_not_allowed")


def test_unauthenticated_is_401(world):
    assert_error(client_for(None).get(url(world.org)), 401, "not_authenticated")


def test_other_org_is_404(world):
    assert_other_org_is_404(world.outsider, "get", url(world.org))


def test_query_string_junk_is_ignored(world):
    mine = security_event_record(kind=SecurityEvent.Kind.MEMBER_REMOVED, organization=world.org)
    response = client_for(world.owner).get(url(world.org), {"organization": world.other_org.pk})
    assert [r["id"] for r in response.json()["results"]] == [mine.pk]
