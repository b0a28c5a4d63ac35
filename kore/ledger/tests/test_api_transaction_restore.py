"""POST /transactions/{id}/restore/: undo a soft delete."""

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Transaction
from kore.ledger.tests.factories import AccountFactory

from .factories_tx import tx_base, tx_payload, tx_url


@pytest.fixture
def api(world):
    return client_for(world.member)


@pytest.fixture
def deleted(world, api):
    account = AccountFactory(organization=world.org)
    created = api.post(
        tx_base(world),
        tx_payload(account, tags=["keep"], splits=[{"amount": "-12.30", "memo": "all"}]),
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert api.delete(tx_url(world, body["id"])).status_code == 204
    return body


def _restore_url(world, tx_id):
    return f"{tx_url(world, tx_id)}restore/"


def test_restore_brings_it_back(world, api, deleted):
    response = api.post(_restore_url(world, deleted["id"]))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert response["ETag"] == body["etag"] == f'"{deleted["id"]}-3"'
    assert body["version"] == 3
    for name in ("amount", "tags", "splits", "occurred_on", "account"):
        assert body[name] == deleted[name]
    assert api.get(tx_url(world, deleted["id"])).status_code == 200
    listed = api.get(tx_base(world)).json()["results"]
    assert [t["id"] for t in listed] == [deleted["id"]]
    assert Transaction.objects.get(pk=deleted["id"]).deleted_at is None


def test_restore_of_a_live_or_unknown_transaction_is_404(world, api, deleted):
    assert api.post(_restore_url(world, deleted["id"])).status_code == 200
    assert_error(api.post(_restore_url(world, deleted["id"])), 404, "not_found")
    assert_error(api.post(_restore_url(world, deleted["id"] + 999)), 404, "not_found")


def test_restore_after_purge_is_404(world, api, deleted):
    Transaction.objects.filter(pk=deleted["id"]).delete()
    assert_error(api.post(_restore_url(world, deleted["id"])), 404, "not_found")


def test_restore_wrong_method_is_405(world, api, deleted):
    url = _restore_url(world, deleted["id"])
    assert_error(api.get(url), 405, "method_not_allowed")
    assert_error(api.patch(url, {}, format="json"), 405, "method_not_allowed")
    assert_error(api.delete(url), 405, "method_not_allowed")
    assert Transaction.objects.get(pk=deleted["id"]).deleted_at is not None


def test_restore_unauthenticated_is_401(world, deleted):
    assert_error(client_for(None).post(_restore_url(world, deleted["id"])), 401)
    assert Transaction.objects.get(pk=deleted["id"]).deleted_at is not None


def test_restore_other_org_is_404(world, deleted):
    assert_other_org_is_404(world.outsider, "post", _restore_url(world, deleted["id"]))
    assert Transaction.objects.get(pk=deleted["id"]).deleted_at is not None


def test_restore_another_orgs_transaction_under_my_org_is_404(world, api):
    foreign = AccountFactory(organization=world.other_org)
    outsider = client_for(world.outsider)
    theirs = outsider.post(
        f"/api/v1/orgs/{world.other_org.slug}/transactions/", tx_payload(foreign), format="json"
    ).json()
    outsider.delete(f"/api/v1/orgs/{world.other_org.slug}/transactions/{theirs['id']}/")
    assert_error(api.post(_restore_url(world, theirs["id"])), 404, "not_found")
    assert Transaction.objects.get(pk=theirs["id"]).deleted_at is not None


def test_restore_viewer_is_403(world, deleted):
    response = client_for(world.viewer).post(_restore_url(world, deleted["id"]))
    assert_error(response, 403, "permission_denied")
    assert Transaction.objects.get(pk=deleted["id"]).deleted_at is not None
