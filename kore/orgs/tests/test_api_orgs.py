"""GET/POST /api/v1/orgs/: the organisations I belong to, and creating one."""

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.orgs.models import Membership, Organization, Role
from kore.orgs.services import api_token_create
from kore.orgs.tests.factories import MembershipFactory, OrganizationFactory

URL = "/api/v1/orgs/"


def test_lists_only_my_organisations_with_my_role(world):
    response = client_for(world.viewer).get(URL)
    assert response.status_code == 200
    assert [(o["slug"], o["role"]) for o in response.json()["results"]] == [
        (world.org.slug, "viewer")
    ]


def test_list_shows_my_own_role_in_each_of_several_organisations(world):
    second = OrganizationFactory(name="Zeta")
    MembershipFactory(organization=second, user=world.viewer, role=Role.ADMIN)
    MembershipFactory(organization=second, role=Role.OWNER)  # another person's role is not mine

    response = client_for(world.viewer).get(URL)

    assert response.status_code == 200
    assert [(o["slug"], o["role"]) for o in response.json()["results"]] == [
        (world.org.slug, "viewer"),
        (second.slug, "admin"),
    ]


def test_list_never_includes_another_organisation(world):
    slugs = [o["slug"] for o in client_for(world.owner).get(URL).json()["results"]]
    assert world.other_org.slug not in slugs


def test_list_through_an_api_token_shows_only_the_token_organisation(world):
    mine = OrganizationFactory()
    MembershipFactory(organization=mine, user=world.admin, role=Role.OWNER)
    _, raw = api_token_create(
        organization=world.org,
        creator=world.admin,
        creator_role=Role.ADMIN,
        name="ci",
        role=Role.VIEWER,
    )
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = client.get(URL)

    assert response.status_code == 200
    assert [(o["slug"], o["role"]) for o in response.json()["results"]] == [
        (world.org.slug, "viewer")
    ]


def test_create_through_an_api_token_is_403(world):
    _, raw = api_token_create(
        organization=world.org,
        creator=world.owner,
        creator_role=Role.OWNER,
        name="ci",
        role=Role.OWNER,
    )
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert_error(client.post(URL, {"name": "Escape"}, format="json"), 403, "human_only")
    assert not Organization.objects.filter(name="Escape").exists()


def test_create_makes_me_owner(world):
    response = client_for(world.viewer).post(
        URL, {"name": "Acme Ltd", "default_currency": "GBP"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["role"] == "owner"
    assert body["slug"] == "acme-ltd"
    assert body["default_currency"] == "GBP"
    assert body["time_zone"] == "UTC"
    org = Organization.objects.get(slug="acme-ltd")
    assert Membership.objects.get(organization=org, user=world.viewer).role == Role.OWNER


def test_create_with_explicit_slug_and_time_zone(world):
    response = client_for(world.member).post(
        URL,
        {"name": "Beta", "slug": "beta-co", "time_zone": "Europe/Berlin"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    org = Organization.objects.get(slug="beta-co")
    assert (org.name, org.time_zone, org.default_currency) == ("Beta", "Europe/Berlin", "EUR")


def test_create_generates_a_free_slug_when_the_name_slug_is_taken(world):
    OrganizationFactory(slug="acme")
    response = client_for(world.member).post(URL, {"name": "Acme"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["slug"] == "acme-2"


def test_create_with_lower_case_currency_stores_it_upper_case(world):
    response = client_for(world.member).post(
        URL, {"name": "Gamma", "default_currency": "usd"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["default_currency"] == "USD"


def test_create_with_taken_slug_is_409(world):
    response = client_for(world.member).post(
        URL, {"name": "Copycat", "slug": world.other_org.slug}, format="json"
    )
    assert_error(response, 409, "slug_taken")
    assert not Organization.objects.filter(name="Copycat").exists()


def test_create_with_unknown_time_zone_is_422(world):
    response = client_for(world.member).post(
        URL, {"name": "Tz", "time_zone": "Mars/Olympus"}, format="json"
    )
    error = assert_error(response, 422, "validation_failed")
    assert error["fields"]["time_zone"][0]["code"] == "invalid_time_zone"


@pytest.mark.parametrize("currency", ["EURO", "E1R", "€€€"])
def test_create_with_non_iso_currency_is_422(world, currency):
    response = client_for(world.member).post(
        URL, {"name": "Money", "default_currency": currency}, format="json"
    )
    error = assert_error(response, 422, "validation_failed")
    assert error["fields"]["default_currency"][0]["code"] == "invalid_currency"
    assert not Organization.objects.filter(name="Money").exists()


def test_create_with_numeric_currency_is_400(world):
    response = client_for(world.member).post(
        URL, {"name": "Money", "default_currency": 978}, format="json"
    )
    assert_error(response, 400, "invalid_type")


def test_create_with_unknown_field_is_400(world):
    response = client_for(world.member).post(URL, {"name": "X", "colour": "red"}, format="json")
    error = assert_error(response, 400, "unknown_field")
    assert list(error["fields"]) == ["colour"]


def test_create_without_name_is_400(world):
    response = client_for(world.member).post(URL, {}, format="json")
    error = assert_error(response, 400, "invalid_request")
    assert error["fields"]["name"][0]["code"] == "required"


def test_create_with_blank_name_is_422(world):
    response = client_for(world.member).post(URL, {"name": "   "}, format="json")
    error = assert_error(response, 422, "validation_failed")
    assert error["fields"]["name"][0]["code"] == "blank"


def test_create_with_malformed_slug_is_400(world):
    response = client_for(world.member).post(
        URL, {"name": "Slug", "slug": "not a slug!"}, format="json"
    )
    assert_error(response, 400)
    assert not Organization.objects.filter(name="Slug").exists()


def test_create_with_invalid_json_is_400(world):
    response = client_for(world.member).post(URL, "{not json", content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_delete_on_list_is_405(world):
    assert_error(client_for(world.owner).delete(URL), 405, "method_not_allowed")


def test_unauthenticated_is_401(world):
    assert_error(client_for(None).get(URL), 401, "not_authenticated")


def test_unauthenticated_create_is_401(world):
    response = client_for(None).post(URL, {"name": "Nope"}, format="json")
    assert_error(response, 401, "not_authenticated")
    assert not Organization.objects.filter(name="Nope").exists()


def test_other_org_detail_is_404(world):
    assert_other_org_is_404(world.outsider, "get", f"{URL}{world.org.slug}/")


def test_created_organisation_is_invisible_to_others(world):
    response = client_for(world.member).post(URL, {"name": "Private"}, format="json")
    slug = response.json()["slug"]
    assert_other_org_is_404(world.outsider, "get", f"{URL}{slug}/")
