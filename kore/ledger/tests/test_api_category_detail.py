"""GET/PATCH/DELETE /categories/{id}/: rename, move within the tree, delete or reassign."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Category, Split, Transaction
from kore.ledger.tests.factories import AccountFactory, CategoryFactory, base


def _url(world, category):
    return f"{base(world)}/categories/{category.pk}/"


def _tx(world, category, **extra):
    account = AccountFactory(organization=world.org)
    return Transaction.objects.create(
        organization=world.org, account=account, occurred_on=date(2026, 1, 5),
        amount=Decimal("-3.00"), currency="EUR", category=category, **extra,
    )  # fmt: skip


@pytest.fixture
def tree(world):
    """root → mid → leaf, plus another root ``other`` (all expense)."""
    root = CategoryFactory(organization=world.org, name="Root")
    mid = CategoryFactory(organization=world.org, name="Mid", parent=root)
    leaf = CategoryFactory(organization=world.org, name="Leaf", parent=mid)
    other = CategoryFactory(organization=world.org, name="Other")
    return root, mid, leaf, other


def test_get_returns_category_and_etag(world, tree):
    root, mid, _, _ = tree
    response = client_for(world.viewer).get(_url(world, mid))
    assert response.status_code == 200
    assert response.json()["parent"] == root.pk
    assert response.json()["depth"] == 2
    assert response["ETag"] == f'"{mid.pk}-1"'


def test_rename(world, tree):
    root = tree[0]
    response = client_for(world.member).patch(_url(world, root), {"name": "Home"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Home"
    assert response.json()["version"] == 2
    assert response["ETag"] == f'"{root.pk}-2"'


def test_rename_to_a_sibling_name_is_409(world, tree):
    root, _, _, other = tree
    response = client_for(world.member).patch(_url(world, other), {"name": "Root"}, format="json")
    assert_error(response, 409, "category_name_taken")
    other.refresh_from_db()
    assert other.name == "Other"


def test_stale_if_match_is_412(world, tree):
    root = tree[0]
    api = client_for(world.member)
    response = api.patch(
        _url(world, root), {"name": "X"}, format="json", HTTP_IF_MATCH=f'"{root.pk}-0"'
    )
    assert_error(response, 412, "version_conflict")
    response = api.delete(_url(world, root), HTTP_IF_MATCH=f'"{root.pk}-9"')
    assert_error(response, 412, "version_conflict")
    root.refresh_from_db()
    assert root.name == "Root"


def test_move_updates_depth_of_the_subtree(world, tree):
    root, mid, leaf, other = tree
    api = client_for(world.member)
    response = api.patch(_url(world, mid), {"parent": None}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["parent"], response.json()["depth"]) == (None, 1)
    leaf.refresh_from_db()
    assert leaf.depth == 2
    response = api.patch(_url(world, mid), {"parent": other.pk}, format="json")
    assert response.status_code == 200, response.json()
    leaf.refresh_from_db()
    assert (leaf.depth, Category.objects.get(pk=mid.pk).depth) == (3, 2)


def test_move_that_would_nest_four_levels_is_422(world, tree):
    root, mid, leaf, other = tree
    # other (depth 1) under leaf (depth 3) → depth 4
    response = client_for(world.member).patch(
        _url(world, other), {"parent": leaf.pk}, format="json"
    )
    assert_error(response, 422, "category_too_deep")
    # mid has one level below it: under another depth-2 category it would reach depth 4
    sibling = CategoryFactory(organization=world.org, name="Sibling", parent=other)
    response = client_for(world.member).patch(
        _url(world, mid), {"parent": sibling.pk}, format="json"
    )
    assert_error(response, 422, "category_too_deep")
    mid.refresh_from_db()
    assert mid.parent_id == root.pk


@pytest.mark.parametrize("target", ["self", "child", "grandchild"])
def test_move_under_itself_or_a_descendant_is_a_cycle(world, tree, target):
    root, mid, leaf, _ = tree
    parent = {"self": root, "child": mid, "grandchild": leaf}[target]
    response = client_for(world.member).patch(
        _url(world, root), {"parent": parent.pk}, format="json"
    )
    error = assert_error(response, 422, "category_cycle")
    assert error["fields"]["parent"][0]["code"] == "category_cycle"
    root.refresh_from_db()
    assert root.parent_id is None


def test_move_under_a_parent_of_another_kind_is_422(world, tree):
    mid = tree[1]
    income = CategoryFactory(organization=world.org, name="Salary", kind="income")
    response = client_for(world.member).patch(
        _url(world, mid), {"parent": income.pk}, format="json"
    )
    assert_error(response, 422, "category_kind_mismatch")
    mid.refresh_from_db()
    assert mid.parent_id == tree[0].pk


def test_move_under_another_organisations_category_is_not_found(world, tree):
    foreign = CategoryFactory(organization=world.other_org)
    response = client_for(world.member).patch(
        _url(world, tree[3]), {"parent": foreign.pk}, format="json"
    )
    error = assert_error(response, 422)
    assert error["fields"]["parent"][0]["code"] == "not_found"


def test_patch_wrong_shape_is_400(world, tree):
    api = client_for(world.member)
    assert_error(api.patch(_url(world, tree[0]), {"kind": "income"}, format="json"), 400)
    assert_error(api.patch(_url(world, tree[0]), {"name": 3}, format="json"), 400)
    assert_error(api.patch(_url(world, tree[0]), {"parent": "x"}, format="json"), 400)


def test_delete_unused_leaf(world, tree):
    leaf = tree[2]
    response = client_for(world.member).delete(_url(world, leaf))
    assert response.status_code == 204
    assert not Category.objects.filter(pk=leaf.pk).exists()


def test_delete_in_use_without_reassign_is_409(world, tree):
    _, mid, leaf, _ = tree
    _tx(world, leaf)
    api = client_for(world.member)
    assert_error(api.delete(_url(world, leaf)), 409, "category_in_use")
    assert_error(api.delete(_url(world, mid)), 409, "category_in_use")  # has a child
    assert Category.objects.filter(pk__in=[mid.pk, leaf.pk]).count() == 2


def test_delete_used_by_a_split_only_is_409(world, tree):
    other = tree[3]
    tx = _tx(world, None)
    Split.objects.create(transaction=tx, category=other, amount=Decimal("-3.00"))
    assert_error(client_for(world.member).delete(_url(world, other)), 409, "category_in_use")


def test_delete_with_reassign_moves_transactions_splits_and_children(world, tree):
    root, mid, leaf, other = tree
    tx = _tx(world, mid)
    deleted = _tx(world, mid, deleted_at=timezone.now())
    split_tx = _tx(world, None)
    split = Split.objects.create(transaction=split_tx, category=mid, amount=Decimal("-3.00"))
    response = client_for(world.member).delete(f"{_url(world, mid)}?reassign_to={other.pk}")
    assert response.status_code == 204, response.content
    assert not Category.objects.filter(pk=mid.pk).exists()
    tx.refresh_from_db()
    deleted.refresh_from_db()
    split.refresh_from_db()
    leaf.refresh_from_db()
    assert tx.category_id == other.pk
    assert tx.version == 2
    assert deleted.category_id == other.pk
    assert split.category_id == other.pk
    assert (leaf.parent_id, leaf.depth) == (other.pk, 2)
    listed = client_for(world.member).get(f"{base(world)}/transactions/", {"category": other.pk})
    assert tx.pk in [row["id"] for row in listed.json()["results"]]


def test_reassign_to_itself_or_a_descendant_is_a_cycle(world, tree):
    _, mid, leaf, _ = tree
    _tx(world, mid)
    api = client_for(world.member)
    for target in (mid, leaf):
        response = api.delete(f"{_url(world, mid)}?reassign_to={target.pk}")
        assert_error(response, 422, "category_cycle")
    assert Category.objects.filter(pk=mid.pk).exists()


def test_reassign_to_another_organisations_category_is_not_found(world, tree):
    leaf = tree[2]
    tx = _tx(world, leaf)
    foreign = CategoryFactory(organization=world.other_org)
    response = client_for(world.member).delete(f"{_url(world, leaf)}?reassign_to={foreign.pk}")
    error = assert_error(response, 422)
    assert error["fields"]["reassign_to"][0]["code"] == "not_found"
    tx.refresh_from_db()
    assert tx.category_id == leaf.pk


def test_reassign_to_a_category_of_another_kind_is_422(world, tree):
    leaf = tree[2]
    tx = _tx(world, leaf)
    income = CategoryFactory(organization=world.org, kind="income")
    response = client_for(world.member).delete(f"{_url(world, leaf)}?reassign_to={income.pk}")
    error = assert_error(response, 422, "category_kind_mismatch")
    assert "reassign_to" in error["fields"]
    tx.refresh_from_db()
    assert tx.category_id == leaf.pk


def test_reassign_to_that_is_not_an_id_is_400(world, tree):
    leaf = tree[2]
    _tx(world, leaf)
    response = client_for(world.member).delete(f"{_url(world, leaf)}?reassign_to=abc")
    error = assert_error(response, 400)
    assert "reassign_to" in error["fields"]


def test_reassign_rolls_back_entirely_when_a_child_cannot_move(world, tree):
    root, mid, leaf, other = tree
    tx = _tx(world, mid)
    CategoryFactory(organization=world.org, name="Leaf", parent=other)  # clashes with mid's child
    response = client_for(world.member).delete(f"{_url(world, mid)}?reassign_to={other.pk}")
    assert_error(response, 409, "category_name_taken")
    tx.refresh_from_db()
    leaf.refresh_from_db()
    assert tx.category_id == mid.pk
    assert leaf.parent_id == mid.pk
    assert Category.objects.filter(pk=mid.pk).exists()


def test_viewer_cannot_write(world, tree):
    api = client_for(world.viewer)
    assert_error(api.patch(_url(world, tree[0]), {"name": "X"}, format="json"), 403)
    assert_error(api.delete(_url(world, tree[2])), 403, "permission_denied")
    assert Category.objects.filter(pk=tree[2].pk).exists()


def test_unauthenticated_is_401(world, tree):
    assert_error(client_for(None).get(_url(world, tree[0])), 401, "not_authenticated")
    assert_error(client_for(None).delete(_url(world, tree[2])), 401, "not_authenticated")


@pytest.mark.parametrize("method", ["put", "post"])
def test_wrong_method_is_405(world, tree, method):
    response = getattr(client_for(world.member), method)(_url(world, tree[0]), {}, format="json")
    assert_error(response, 405, "method_not_allowed")


def test_other_organisation_is_404(world, tree):
    leaf = tree[2]
    for method, data in (("get", None), ("patch", {"name": "Stolen"}), ("delete", None)):
        assert_other_org_is_404(world.outsider, method, _url(world, leaf), data)
        path = f"/api/v1/orgs/{world.other_org.slug}/categories/{leaf.pk}/"
        assert_other_org_is_404(world.outsider, method, path, data)
    leaf.refresh_from_db()
    assert leaf.name == "Leaf"
