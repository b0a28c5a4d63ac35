"""POST transactions/bulk-update/ and transactions/bulk-delete/: all or nothing."""

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Account, Category, Transaction


@pytest.fixture
def rows(world):
    account = Account.objects.create(organization=world.org, name="B", currency="EUR")
    api = client_for(world.member)
    ids = []
    for day, amount in (("2026-01-01", "-1.00"), ("2026-01-02", "-2.00"), ("2026-02-01", "-3.00")):
        response = api.post(
            f"/api/v1/orgs/{world.org.slug}/transactions/",
            {"account": account.pk, "occurred_on": day, "amount": amount, "tags": ["old"]},
            format="json",
        )
        ids.append(response.json()["id"])
    return ids


def _url(world, name):
    return f"/api/v1/orgs/{world.org.slug}/transactions/{name}/"


def test_recategorise_and_retag_by_ids(world, rows):
    food = Category.objects.create(organization=world.org, name="Food")
    response = client_for(world.member).post(
        _url(world, "bulk-update"),
        {
            "ids": rows[:2],
            "set": {"category": food.pk},
            "add_tags": ["new"],
            "remove_tags": ["old"],
        },
        format="json",
    )
    assert response.json() == {"changed": 2}
    changed = Transaction.objects.filter(pk__in=rows[:2])
    assert {tx.category_id for tx in changed} == {food.pk}
    assert {tuple(tx.tags.values_list("name", flat=True)) for tx in changed} == {("new",)}
    assert Transaction.objects.get(pk=rows[2]).category_id is None


def test_update_by_filter(world, rows):
    response = client_for(world.member).post(
        _url(world, "bulk-update"),
        {"filter": {"date_from": "2026-02-01"}, "set": {"status": "cleared"}},
        format="json",
    )
    assert response.json() == {"changed": 1}
    assert Transaction.objects.get(pk=rows[2]).status == "cleared"


def test_one_unknown_id_rejects_the_whole_batch(world, rows):
    food = Category.objects.create(organization=world.org, name="Food")
    response = client_for(world.member).post(
        _url(world, "bulk-update"),
        {"ids": [rows[0], 999_999], "set": {"category": food.pk}},
        format="json",
    )
    error = assert_error(response, 422, "invalid_reference")
    assert "ids.1" in error["fields"]
    assert not Transaction.objects.filter(category=food).exists()


def test_another_organisations_ids_are_rejected_not_touched(world, rows):
    other_account = Account.objects.create(organization=world.other_org, name="X", currency="EUR")
    theirs = (
        client_for(world.outsider)
        .post(
            f"/api/v1/orgs/{world.other_org.slug}/transactions/",
            {"account": other_account.pk, "occurred_on": "2026-01-01", "amount": "1.00"},
            format="json",
        )
        .json()["id"]
    )
    response = client_for(world.member).post(
        _url(world, "bulk-delete"), {"ids": [theirs]}, format="json"
    )
    assert_error(response, 422, "invalid_reference")
    assert Transaction.objects.get(pk=theirs).deleted_at is None


def test_bulk_delete_soft_deletes(world, rows):
    response = client_for(world.member).post(
        _url(world, "bulk-delete"), {"ids": rows[:2]}, format="json"
    )
    assert response.json() == {"changed": 2}
    listed = client_for(world.member).get(f"/api/v1/orgs/{world.org.slug}/transactions/").json()
    assert [t["id"] for t in listed["results"]] == [rows[2]]


def test_ids_and_filter_together_are_rejected(world, rows):
    response = client_for(world.member).post(
        _url(world, "bulk-delete"), {"ids": rows, "filter": {"status": "pending"}}, format="json"
    )
    assert_error(response, 422, "ids_or_filter")


def test_more_than_a_thousand_ids_is_rejected(world):
    response = client_for(world.member).post(
        _url(world, "bulk-delete"), {"ids": list(range(1, 1002))}, format="json"
    )
    assert response.status_code in (400, 422)
    assert Transaction.objects.count() == 0


def test_viewer_is_403(world, rows):
    response = client_for(world.viewer).post(
        _url(world, "bulk-delete"), {"ids": rows}, format="json"
    )
    assert_error(response, 403, "permission_denied")


def test_other_organisation_is_404(world):
    assert_other_org_is_404(world.outsider, "post", _url(world, "bulk-delete"), {"ids": [1]})


def test_get_is_405(world):
    assert_error(client_for(world.member).get(_url(world, "bulk-update")), 405)


def test_unknown_field_is_400(world, rows):
    response = client_for(world.member).post(
        _url(world, "bulk-update"), {"ids": rows, "colour": "red"}, format="json"
    )
    assert_error(response, 400, "unknown_field")
