"""The organisation's reporting currency and maximum rate age, set through its detail endpoint."""

from kore.core.testing import assert_error, client_for


def test_admin_sets_the_reporting_currency_and_the_maximum_rate_age(world):
    url = f"/api/v1/orgs/{world.org.slug}/"
    response = client_for(world.admin).patch(
        url, {"reporting_currency": "usd", "max_rate_age_days": 3}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = client_for(world.viewer).get(url).json()
    assert (body["reporting_currency"], body["max_rate_age_days"]) == ("USD", 3)


def test_an_unknown_reporting_currency_is_a_422_naming_the_field(world):
    url = f"/api/v1/orgs/{world.org.slug}/"
    response = client_for(world.admin).patch(url, {"reporting_currency": "ZZZ"}, format="json")
    error = assert_error(response, 422, "currency_unknown")
    assert list(error["fields"]) == ["reporting_currency"]


def test_a_member_cannot_change_the_reporting_currency(world):
    url = f"/api/v1/orgs/{world.org.slug}/"
    response = client_for(world.member).patch(url, {"reporting_currency": "USD"}, format="json")
    assert_error(response, 403)
