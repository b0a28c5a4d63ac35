"""GET /api/v1/orgs/{slug}/members/: everyone in the organisation, with their role."""

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.orgs.models import Organization, Role
from kore.orgs.tests.factories import MembershipFactory


def url(org: Organization) -> str:
    return f"/api/v1/orgs/{org.slug}/members/"


@pytest.mark.parametrize("who", ["owner", "admin", "member", "viewer"])
def test_every_member_lists_the_members(world, who):
    response = client_for(getattr(world, who)).get(url(world.org))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["email"], r["role"]) for r in rows] == [
        (world.owner.email, "owner"),
        (world.admin.email, "admin"),
        (world.member.email, "member"),
        (world.viewer.email, "viewer"),
    ]
    assert set(rows[0]) == {"id", "email", "full_name", "role", "created_at"}


def test_list_never_includes_another_organisation_s_members(world):
    emails = [r["email"] for r in client_for(world.owner).get(url(world.org)).json()["results"]]
    assert world.outsider.email not in emails


def test_list_query_count_stays_constant_as_members_grow(world, django_assert_max_num_queries):
    client = client_for(world.viewer)
    client.get(url(world.org))  # warm-up: content types, etc.

    with django_assert_max_num_queries(4) as small:
        assert len(client.get(url(world.org)).json()["results"]) == 4
    MembershipFactory.create_batch(20, organization=world.org, role=Role.MEMBER)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(client.get(url(world.org)).json()["results"]) == 24


def test_post_is_405(world):
    response = client_for(world.owner).post(url(world.org), {"email": "a@b.c"}, format="json")
    assert_error(response, 405, "method_not_allowed")


def test_viewer_writing_is_403(world):
    response = client_for(world.viewer).post(url(world.org), {}, format="json")
    assert_error(response, 403, "permission_denied")


def test_unauthenticated_is_401(world):
    assert_error(client_for(None).get(url(world.org)), 401, "not_authenticated")


def test_other_org_is_404(world):
    assert_other_org_is_404(world.outsider, "get", url(world.org))


def test_malformed_bearer_token_is_401(world):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    assert_error(client.get(url(world.org)), 401, "token_invalid")
