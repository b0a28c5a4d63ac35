"""POST /transactions/bulk/: up to 1,000 transactions, all or nothing."""

from decimal import Decimal

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import LedgerState, Split, Tag, Transaction
from kore.ledger.tests.factories import AccountFactory, CategoryFactory

from .factories_tx import tx_payload


@pytest.fixture
def account(world):
    return AccountFactory(organization=world.org, currency="EUR")


@pytest.fixture
def api(world):
    return client_for(world.member)


def _url(world):
    return f"/api/v1/orgs/{world.org.slug}/transactions/bulk/"


def _bulk(api, world, items):
    return api.post(_url(world), {"items": items}, format="json")


def _rows(account, n, **extra):
    return [tx_payload(account, amount=f"-{i + 1}.00", **extra) for i in range(n)]


def test_bulk_creates_every_item_in_order(world, api, account):
    category = CategoryFactory(organization=world.org)
    items = _rows(account, 3)
    items[1] |= {"tags": ["a", "b"], "category": category.pk, "metadata": {"k": "v"}}
    items[2] |= {"splits": [{"amount": "-1.00"}, {"amount": "-2.00"}], "tags": ["a"]}
    response = _bulk(api, world, items)
    assert response.status_code == 201, response.json()
    ids = response.json()["ids"]
    assert len(ids) == 3
    rows = {t.pk: t for t in Transaction.objects.filter(pk__in=ids)}
    assert [rows[i].amount for i in ids] == [Decimal("-1.00"), Decimal("-2.00"), Decimal("-3.00")]
    assert all(rows[i].currency == "EUR" and rows[i].created_by == world.member for i in ids)
    assert rows[ids[1]].category == category
    assert sorted(rows[ids[1]].tags.values_list("name", flat=True)) == ["a", "b"]
    assert rows[ids[1]].metadata == {"k": "v"}
    assert list(rows[ids[2]].splits.values_list("amount", flat=True)) == [
        Decimal("-1.00"), Decimal("-2.00")
    ]  # fmt: skip
    assert Tag.objects.filter(organization=world.org).count() == 2
    listed = api.get(f"/api/v1/orgs/{world.org.slug}/transactions/").json()["results"]
    assert sorted(t["id"] for t in listed) == sorted(ids)


def test_bulk_of_1000_is_accepted(world, api, account):
    response = _bulk(api, world, _rows(account, 1000, tags=["bulk"]))
    assert response.status_code == 201, response.json()
    assert len(response.json()["ids"]) == len(set(response.json()["ids"])) == 1000
    assert Transaction.objects.filter(organization=world.org).count() == 1000
    assert Transaction.tags.through.objects.count() == 1000
    # One change number for the whole batch.
    assert LedgerState.objects.get(organization=world.org).version == 1


def test_bulk_of_1001_is_422_batch_too_large(world, api, account):
    error = assert_error(_bulk(api, world, _rows(account, 1001)), 422, "batch_too_large")
    assert error["message"]
    assert not Transaction.objects.exists()


def test_one_bad_row_rejects_the_batch_with_errors_by_index(world, api, account):
    items = _rows(account, 5)
    items[1]["amount"] = "-1.001"
    items[3]["status"] = "reconciled"
    items[4]["splits"] = [{"amount": "-1.00"}]
    error = assert_error(_bulk(api, world, items), 422)
    fields = error["fields"]
    assert fields["items.1.amount"][0]["code"] == "amount_precision"
    assert fields["items.3.status"][0]["code"] == "status_reconciled"
    assert fields["items.4.splits"][0]["code"] == "splits_sum_mismatch"
    assert not any(key.startswith(("items.0.", "items.2.")) for key in fields)
    assert not Transaction.objects.exists()
    assert not Split.objects.exists()
    assert not LedgerState.objects.filter(organization=world.org, version__gt=0).exists()


def test_another_orgs_account_in_one_row_rejects_the_batch(world, api, account):
    foreign = AccountFactory(organization=world.other_org, name="Hidden name")
    items = [*_rows(account, 2), tx_payload(foreign)]
    response = _bulk(api, world, items)
    error = assert_error(response, 422)
    assert error["fields"]["items.2.account"][0]["code"] == "not_found"
    assert "Hidden name" not in response.content.decode()
    assert not Transaction.objects.exists()


def test_archived_account_in_one_row_is_409(world, api, account):
    archived = AccountFactory(organization=world.org, archived=True)
    response = _bulk(api, world, [*_rows(account, 2), tx_payload(archived)])
    assert_error(response, 409, "account_archived")
    assert not Transaction.objects.exists()


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"amount": 1.5}, "items.1.amount"),
        ({"surprise": 1}, "items.1.surprise"),
        ({"occurred_on": "nope"}, "items.1.occurred_on"),
    ],
)
def test_shape_errors_in_items_are_400_by_index(world, api, account, bad, field):
    items = _rows(account, 3)
    items[1] |= bad
    error = assert_error(_bulk(api, world, items), 400)
    assert field in error["fields"], error["fields"]
    assert not any(key.startswith(("items.0.", "items.2.")) for key in error["fields"])
    assert not Transaction.objects.exists()


def test_missing_field_in_an_item_is_400(world, api, account):
    items = _rows(account, 2)
    del items[0]["amount"]
    error = assert_error(_bulk(api, world, items), 400)
    assert error["fields"]["items.0.amount"][0]["code"] == "required"


@pytest.mark.parametrize(
    "body",
    [{}, {"items": "x"}, {"items": [1, 2]}, {"items": [[]]}, {"items": [{}], "x": 1}, []],
)
def test_wrong_body_shape_is_400(world, api, body):
    assert_error(api.post(_url(world), body, format="json"), 400)
    assert not Transaction.objects.exists()


def test_empty_batch_is_422(world, api):
    error = assert_error(_bulk(api, world, []), 422)
    assert error["fields"]["items"][0]["code"] == "empty"


def test_bulk_wrong_method_is_405(world, api):
    assert_error(api.get(_url(world)), 405, "method_not_allowed")
    assert_error(api.put(_url(world), {"items": []}, format="json"), 405)


def test_bulk_unauthenticated_is_401(world, account):
    response = client_for(None).post(_url(world), {"items": _rows(account, 1)}, format="json")
    assert_error(response, 401, "not_authenticated")
    assert not Transaction.objects.exists()


def test_bulk_other_org_is_404(world, account):
    assert_other_org_is_404(world.outsider, "post", _url(world), {"items": _rows(account, 1)})
    assert not Transaction.objects.exists()


def test_bulk_viewer_is_403(world, account):
    viewer = client_for(world.viewer)
    response = viewer.post(_url(world), {"items": _rows(account, 1)}, format="json")
    assert_error(response, 403, "permission_denied")
    assert not Transaction.objects.exists()
