import pytest

from kore.core.testing import assert_error, client_for
from kore.suggestions.models import SuggestionSettings

pytestmark = pytest.mark.django_db


def _url(world) -> str:
    return f"/api/v1/orgs/{world.org.slug}/suggestions/settings/"


def test_auto_apply_is_off_by_default(world):
    body = client_for(world.viewer).get(_url(world)).json()
    assert body == {"auto_apply_confidence": None, "model": None}


def test_an_admin_sets_the_confidence_and_the_change_is_audited(world):
    response = client_for(world.admin).patch(
        _url(world), {"auto_apply_confidence": "0.95"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["auto_apply_confidence"] == "0.95"
    row = SuggestionSettings.objects.get(organization=world.org)
    latest = row.history.first()
    assert (latest.auto_apply_confidence, latest.history_user_id) == (
        row.auto_apply_confidence,
        world.admin.pk,
    )


def test_null_turns_it_off_again(world):
    client = client_for(world.owner)
    client.patch(_url(world), {"auto_apply_confidence": "0.9"}, format="json")
    client.patch(_url(world), {"auto_apply_confidence": None}, format="json")
    assert client.get(_url(world)).json()["auto_apply_confidence"] is None


@pytest.mark.parametrize("value", ["0.49", "1.01", "0"])
def test_a_confidence_out_of_range_is_422(world, value):
    response = client_for(world.admin).patch(
        _url(world), {"auto_apply_confidence": value}, format="json"
    )
    error = assert_error(response, 422, "confidence_out_of_range")
    assert list(error["fields"]) == ["auto_apply_confidence"]
    assert not SuggestionSettings.objects.filter(organization=world.org).exists()


def test_not_a_number_is_400(world):
    response = client_for(world.admin).patch(
        _url(world), {"auto_apply_confidence": "high"}, format="json"
    )
    assert_error(response, 400)


def test_a_member_cannot_change_it(world):
    response = client_for(world.member).patch(
        _url(world), {"auto_apply_confidence": "0.9"}, format="json"
    )
    assert_error(response, 403)


def test_wrong_method_is_405(world):
    assert_error(client_for(world.owner).delete(_url(world)), 405)
