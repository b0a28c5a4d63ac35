from kore.core.testing import assert_error, assert_other_org_is_404, client_for


def test_lists_only_my_organisations_with_my_role(world):
    response = client_for(world.viewer).get("/api/v1/orgs/")
    assert response.status_code == 200
    assert [(o["slug"], o["role"]) for o in response.json()["results"]] == [
        (world.org.slug, "viewer")
    ]


def test_create_makes_me_owner(world):
    response = client_for(world.viewer).post(
        "/api/v1/orgs/", {"name": "Acme Ltd", "default_currency": "GBP"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["role"] == "owner"
    assert response.json()["slug"] == "acme-ltd"


def test_other_org_detail_is_404(world):
    assert_other_org_is_404(world.outsider, "get", f"/api/v1/orgs/{world.org.slug}/")


def test_unauthenticated_is_401(world):
    assert_error(client_for(None).get("/api/v1/orgs/"), 401, "not_authenticated")
