"""GET/PATCH/DELETE /transactions/{id}/: ETags, optimistic concurrency, soft delete."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Statement, Transaction
from kore.ledger.tests.factories import AccountFactory, CategoryFactory

from .factories_tx import tx_base, tx_payload, tx_url


@pytest.fixture
def account(world):
    return AccountFactory(organization=world.org, currency="EUR")


@pytest.fixture
def api(world):
    return client_for(world.member)


@pytest.fixture
def tx(world, api, account):
    response = api.post(
        tx_base(world),
        tx_payload(account, tags=["food"], splits=[{"amount": "-10.00"}, {"amount": "-2.30"}]),
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _patch(api, world, tx_id, data, etag=None):
    headers = {"HTTP_IF_MATCH": etag} if etag is not None else {}
    return api.patch(tx_url(world, tx_id), data, format="json", **headers)


# --- GET ------------------------------------------------------------------------------------------
def test_get_returns_the_transaction_with_matching_etag(world, api, tx):
    response = api.get(tx_url(world, tx["id"]))
    assert response.status_code == 200
    body = response.json()
    assert response["ETag"] == body["etag"] == f'"{tx["id"]}-1"'
    created = {k: v for k, v in tx.items() if k != "transfers_skipped"}  # the create's own
    assert body == created


def test_get_unknown_or_deleted_is_404(world, api, tx):
    assert_error(api.get(tx_url(world, tx["id"] + 1000)), 404, "not_found")
    assert_error(api.get(tx_url(world, 2**63 + 5)), 404, "not_found")
    Transaction.objects.filter(pk=tx["id"]).update(deleted_at="2026-01-01T00:00:00Z")
    assert_error(api.get(tx_url(world, tx["id"])), 404, "not_found")


def test_another_orgs_transaction_under_my_org_is_404(world, api):
    foreign = AccountFactory(organization=world.other_org)
    theirs = client_for(world.outsider).post(
        f"/api/v1/orgs/{world.other_org.slug}/transactions/", tx_payload(foreign), format="json"
    )
    assert theirs.status_code == 201
    their_id = theirs.json()["id"]
    assert_error(api.get(tx_url(world, their_id)), 404, "not_found")
    assert_error(_patch(api, world, their_id, {"description": "x"}), 404, "not_found")
    assert_error(api.delete(tx_url(world, their_id)), 404, "not_found")
    assert Transaction.objects.get(pk=their_id).description == ""
    assert Transaction.objects.get(pk=their_id).deleted_at is None


def test_detail_other_org_is_404(world, tx):
    url = tx_url(world, tx["id"])
    assert_other_org_is_404(world.outsider, "get", url)
    assert_other_org_is_404(world.outsider, "patch", url, {"description": "x"})
    assert_other_org_is_404(world.outsider, "delete", url)
    assert Transaction.objects.get(pk=tx["id"]).deleted_at is None


def test_detail_unauthenticated_is_401(world, tx):
    anonymous = client_for(None)
    url = tx_url(world, tx["id"])
    assert_error(anonymous.get(url), 401, "not_authenticated")
    assert_error(anonymous.patch(url, {"description": "x"}, format="json"), 401)
    assert_error(anonymous.delete(url), 401)
    assert Transaction.objects.get(pk=tx["id"]).deleted_at is None


def test_detail_wrong_method_is_405(world, api, tx):
    url = tx_url(world, tx["id"])
    assert_error(api.post(url, {}, format="json"), 405, "method_not_allowed")
    assert_error(api.put(url, tx_payload(AccountFactory()), format="json"), 405)


def test_viewer_reads_but_cannot_change(world, tx):
    viewer = client_for(world.viewer)
    url = tx_url(world, tx["id"])
    assert viewer.get(url).status_code == 200
    assert_error(viewer.patch(url, {"description": "x"}, format="json"), 403, "permission_denied")
    assert_error(viewer.delete(url), 403, "permission_denied")
    row = Transaction.objects.get(pk=tx["id"])
    assert (row.description, row.deleted_at, row.version) == ("", None, 1)


# --- PATCH ----------------------------------------------------------------------------------------
def test_patch_with_current_etag_returns_new_etag(world, api, tx):
    response = _patch(api, world, tx["id"], {"description": "Lunch"}, etag=tx["etag"])
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["description"] == "Lunch"
    assert body["version"] == 2
    assert response["ETag"] == body["etag"] == f'"{tx["id"]}-2"'
    assert api.get(tx_url(world, tx["id"]))["ETag"] == body["etag"]
    # Fields not sent are kept.
    assert body["amount"] == "-12.30"
    assert body["tags"] == ["food"]
    assert len(body["splits"]) == 2


def test_patch_with_stale_etag_is_412(world, api, tx):
    assert _patch(api, world, tx["id"], {"description": "one"}, etag=tx["etag"]).status_code == 200
    stale = _patch(api, world, tx["id"], {"description": "two"}, etag=tx["etag"])
    assert_error(stale, 412, "version_conflict")
    row = Transaction.objects.get(pk=tx["id"])
    assert (row.description, row.version) == ("one", 2)


@pytest.mark.parametrize("header", ['W/"{id}-1"', '"x-9", "{id}-1"', "*"])
def test_patch_if_match_forms(world, api, tx, header):
    response = _patch(api, world, tx["id"], {"notes": "n"}, etag=header.format(id=tx["id"]))
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("header", ['"{id}-2"', "{id}-1", '"999999-1"', ""])
def test_patch_if_match_that_does_not_match_is_412(world, api, tx, header):
    response = _patch(api, world, tx["id"], {"notes": "n"}, etag=header.format(id=tx["id"]))
    assert_error(response, 412, "version_conflict")
    assert Transaction.objects.get(pk=tx["id"]).notes == ""


def test_patch_without_if_match_is_allowed(world, api, tx):
    response = _patch(api, world, tx["id"], {"counterparty": "Bakery"})
    assert response.status_code == 200
    assert response.json()["counterparty"] == "Bakery"
    assert response.json()["version"] == 2


def test_patch_replaces_tags_and_splits(world, api, tx):
    category = CategoryFactory(organization=world.org)
    body = _patch(
        api, world, tx["id"],
        {"tags": ["home", "bills"], "splits": [{"amount": "-12.30", "category": category.pk}]},
    ).json()  # fmt: skip
    assert body["tags"] == ["bills", "home"]
    assert body["splits"] == [{"category": category.pk, "amount": "-12.30", "memo": ""}]
    cleared = _patch(api, world, tx["id"], {"tags": [], "splits": []}).json()
    assert cleared["tags"] == []
    assert cleared["splits"] == []


def test_patch_amount_must_still_match_existing_splits(world, api, tx):
    error = assert_error(
        _patch(api, world, tx["id"], {"amount": "-20.00"}), 422, "splits_sum_mismatch"
    )
    assert "splits" in error["fields"]
    assert Transaction.objects.get(pk=tx["id"]).amount == Decimal("-12.30")
    ok = _patch(
        api, world, tx["id"],
        {"amount": "-20.00", "splits": [{"amount": "-15.00"}, {"amount": "-5.00"}]},
    )  # fmt: skip
    assert ok.status_code == 200, ok.json()
    assert [s["amount"] for s in ok.json()["splits"]] == ["-15.00", "-5.00"]


def test_patch_splits_alone_must_sum_to_current_amount(world, api, tx):
    assert_error(
        _patch(api, world, tx["id"], {"splits": [{"amount": "-1.00"}]}), 422, "splits_sum_mismatch"
    )
    assert len(api.get(tx_url(world, tx["id"])).json()["splits"]) == 2


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        ({"amount": "-1.234", "splits": [{"amount": "-1.234"}]}, 422, "amount_precision"),
        ({"amount": -1.5}, 400, None),
        ({"status": "reconciled"}, 422, "status_reconciled"),
        ({"surprise": True}, 400, "unknown_field"),
        ({"metadata": {"k": "v" * 501}}, 422, "metadata_value_too_long"),
        ({"notes": "n" * 10_001}, 422, None),
        ({"occurred_on": "yesterday"}, 400, None),
        ({"account": None}, 400, None),
        ({"splits": [{"memo": "no amount"}]}, 400, None),
        ({"splits": [{"amount": "-12.30"}, {}]}, 400, None),
        ({"splits": [{"amount": "-12.30", "nope": 1}]}, 400, "unknown_field"),
    ],
)
def test_patch_bad_input(world, api, tx, data, status, code):
    assert_error(_patch(api, world, tx["id"], data), status, code)
    row = Transaction.objects.get(pk=tx["id"])
    assert row.version == 1
    assert row.splits.count() == 2


def test_patch_to_another_orgs_account_or_category_is_422(world, api, tx):
    foreign_account = AccountFactory(organization=world.other_org)
    foreign_category = CategoryFactory(organization=world.other_org)
    error = assert_error(_patch(api, world, tx["id"], {"account": foreign_account.pk}), 422)
    assert error["fields"]["account"][0]["code"] == "not_found"
    error = assert_error(_patch(api, world, tx["id"], {"category": foreign_category.pk}), 422)
    assert error["fields"]["category"][0]["code"] == "not_found"
    assert Transaction.objects.get(pk=tx["id"]).account_id == tx["account"]


def test_patch_moves_to_another_account_and_takes_its_currency(world, api, tx):
    yen = AccountFactory(organization=world.org, currency="JPY")
    error = assert_error(_patch(api, world, tx["id"], {"account": yen.pk}), 422)
    assert error["fields"]["amount"][0]["code"] == "amount_precision"
    moved = _patch(
        api, world, tx["id"],
        {"account": yen.pk, "amount": "-1200", "splits": [{"amount": "-1200"}]},
    )  # fmt: skip
    assert moved.status_code == 200, moved.json()
    assert (moved.json()["currency"], moved.json()["amount"]) == ("JPY", "-1200")


def test_patch_into_archived_account_is_409(world, api, tx):
    archived = AccountFactory(organization=world.org, archived=True)
    assert_error(_patch(api, world, tx["id"], {"account": archived.pk}), 409, "account_archived")


def test_patch_reconciled_transaction_is_409(world, api, tx, account):
    statement = Statement.objects.create(
        organization=world.org, account=account, end_date="2026-01-31", closing_balance=0
    )
    Transaction.objects.filter(pk=tx["id"]).update(status="reconciled", statement=statement)
    assert_error(_patch(api, world, tx["id"], {"notes": "x"}), 409, "transaction_locked")
    assert_error(api.delete(tx_url(world, tx["id"])), 409, "transaction_locked")


def test_patch_deleted_transaction_is_404(world, api, tx):
    assert api.delete(tx_url(world, tx["id"])).status_code == 204
    assert_error(_patch(api, world, tx["id"], {"notes": "x"}), 404, "not_found")


@pytest.mark.django_db(transaction=True)
def test_concurrent_patches_with_the_same_etag_one_wins(world, account):
    created = client_for(world.member).post(tx_base(world), tx_payload(account), format="json")
    etag = created.json()["etag"]
    tx_id = created.json()["id"]
    clients = [client_for(world.member), client_for(world.admin)]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def edit(api, text):
        try:
            barrier.wait(timeout=10)
            response = _patch(api, world, tx_id, {"description": text}, etag=etag)
            statuses.append(response.status_code)
        finally:
            connection.close()  # this thread's own connection

    threads = [
        threading.Thread(target=edit, args=(c, f"writer {i}")) for i, c in enumerate(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(statuses) == [200, 412]
    row = Transaction.objects.get(pk=tx_id)
    assert row.version == 2
    assert row.description in {"writer 0", "writer 1"}


# --- DELETE ---------------------------------------------------------------------------------------
def test_delete_soft_deletes(world, api, tx):
    response = api.delete(tx_url(world, tx["id"]), HTTP_IF_MATCH=tx["etag"])
    assert response.status_code == 204
    assert_error(api.get(tx_url(world, tx["id"])), 404, "not_found")
    assert api.get(tx_base(world)).json()["results"] == []
    row = Transaction.objects.get(pk=tx["id"])
    assert row.deleted_at is not None
    assert row.version == 2
    assert row.splits.count() == 2  # kept for a restore
    assert_error(api.delete(tx_url(world, tx["id"])), 404, "not_found")


def test_delete_with_stale_etag_is_412(world, api, tx):
    _patch(api, world, tx["id"], {"notes": "n"})
    response = api.delete(tx_url(world, tx["id"]), HTTP_IF_MATCH=tx["etag"])
    assert_error(response, 412, "version_conflict")
    assert Transaction.objects.get(pk=tx["id"]).deleted_at is None


def test_patch_split_without_amount_names_the_field(world, api, tx):
    error = assert_error(_patch(api, world, tx["id"], {"splits": [{"memo": "x"}]}), 400)
    assert error["fields"]["splits.0.amount"][0]["code"] == "required"
