"""GET/PATCH /api/v1/orgs/{slug}/: one organisation; admins and owners change it."""

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.orgs.models import Organization


def url(org: Organization) -> str:
    return f"/api/v1/orgs/{org.slug}/"


@pytest.mark.parametrize(
    ("who", "role"),
    [("owner", "owner"), ("admin", "admin"), ("member", "member"), ("viewer", "viewer")],
)
def test_every_member_reads_the_organisation_with_their_role(world, who, role):
    response = client_for(getattr(world, who)).get(url(world.org))
    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == world.org.slug
    assert body["name"] == world.org.name
    assert body["time_zone"] == "Europe/Paris"
    assert body["role"] == role


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owner_and_admin_patch_name_time_zone_and_currency(world, who):
    response = client_for(getattr(world, who)).patch(
        url(world.org),
        {"name": "Renamed", "time_zone": "America/New_York", "default_currency": "USD"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Renamed"
    world.org.refresh_from_db()
    assert (world.org.name, world.org.time_zone, world.org.default_currency) == (
        "Renamed",
        "America/New_York",
        "USD",
    )


def test_patch_changes_only_the_fields_sent(world):
    response = client_for(world.admin).patch(url(world.org), {"name": "Only"}, format="json")
    assert response.status_code == 200
    world.org.refresh_from_db()
    assert (world.org.name, world.org.time_zone, world.org.default_currency) == (
        "Only",
        "Europe/Paris",
        "EUR",
    )


def test_patch_with_lower_case_currency_stores_it_upper_case(world):
    response = client_for(world.admin).patch(
        url(world.org), {"default_currency": "chf"}, format="json"
    )
    assert response.status_code == 200, response.json()
    world.org.refresh_from_db()
    assert world.org.default_currency == "CHF"


@pytest.mark.parametrize("who", ["member", "viewer"])
def test_member_and_viewer_cannot_patch(world, who):
    response = client_for(getattr(world, who)).patch(
        url(world.org), {"name": "Hijacked"}, format="json"
    )
    assert_error(response, 403, "permission_denied")
    world.org.refresh_from_db()
    assert world.org.name != "Hijacked"


def test_patch_with_unknown_time_zone_is_422(world):
    response = client_for(world.owner).patch(
        url(world.org), {"time_zone": "Europe/Atlantis"}, format="json"
    )
    error = assert_error(response, 422, "validation_failed")
    assert error["fields"]["time_zone"][0]["code"] == "invalid_time_zone"
    world.org.refresh_from_db()
    assert world.org.time_zone == "Europe/Paris"


def test_patch_with_non_iso_currency_is_422(world):
    response = client_for(world.owner).patch(
        url(world.org), {"default_currency": "EURO"}, format="json"
    )
    error = assert_error(response, 422, "validation_failed")
    assert error["fields"]["default_currency"][0]["code"] == "invalid_currency"
    world.org.refresh_from_db()
    assert world.org.default_currency == "EUR"


def test_patch_slug_is_an_unknown_field(world):
    response = client_for(world.owner).patch(url(world.org), {"slug": "new-slug"}, format="json")
    assert_error(response, 400, "unknown_field")
    assert Organization.objects.filter(slug=world.org.slug).exists()


def test_patch_with_non_string_name_is_400(world):
    response = client_for(world.owner).patch(url(world.org), {"name": 12}, format="json")
    assert_error(response, 400, "invalid_type")


def test_put_is_405(world):
    response = client_for(world.owner).put(url(world.org), {"name": "X"}, format="json")
    assert_error(response, 405, "method_not_allowed")


def test_delete_is_405(world):
    assert_error(client_for(world.owner).delete(url(world.org)), 405, "method_not_allowed")
    assert Organization.objects.filter(pk=world.org.pk).exists()


def test_unauthenticated_is_401(world):
    assert_error(client_for(None).get(url(world.org)), 401, "not_authenticated")


def test_unauthenticated_patch_is_401(world):
    response = client_for(None).patch(url(world.org), {"name": "X"}, format="json")
    assert_error(response, 401, "not_authenticated")


def test_other_org_read_is_404(world):
    assert_other_org_is_404(world.outsider, "get", url(world.org))


def test_other_org_patch_is_404_and_changes_nothing(world):
    assert_other_org_is_404(world.outsider, "patch", url(world.org), {"name": "Hijacked"})
    world.org.refresh_from_db()
    assert world.org.name != "Hijacked"


def test_unknown_slug_is_404(world):
    assert_error(client_for(world.owner).get("/api/v1/orgs/no-such-org/"), 404, "not_found")
