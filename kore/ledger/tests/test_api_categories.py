"""GET/POST /categories/: a tree at most three levels deep."""

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Category
from kore.ledger.tests.factories import CategoryFactory, base


def _url(world):
    return f"{base(world)}/categories/"


def _post(api, world, **data):
    return api.post(_url(world), data, format="json")


def test_create_root_and_children(world):
    api = client_for(world.member)
    root = _post(api, world, name="Home", kind="expense")
    assert root.status_code == 201, root.json()
    assert root.json()["depth"] == 1
    assert root.json()["parent"] is None
    assert root["ETag"] == f'"{root.json()["id"]}-1"'
    child = _post(api, world, name="Energy", kind="expense", parent=root.json()["id"])
    assert child.status_code == 201, child.json()
    assert (child.json()["parent"], child.json()["depth"]) == (root.json()["id"], 2)
    leaf = _post(api, world, name="Gas", kind="expense", parent=child.json()["id"])
    assert leaf.status_code == 201, leaf.json()
    assert leaf.json()["depth"] == 3
    assert Category.objects.get(pk=leaf.json()["id"]).organization == world.org


def test_default_kind_is_expense(world):
    response = _post(client_for(world.member), world, name="Misc")
    assert response.status_code == 201
    assert response.json()["kind"] == "expense"


def test_fourth_level_is_422(world):
    level3 = CategoryFactory(
        organization=world.org,
        parent=CategoryFactory(
            organization=world.org, parent=CategoryFactory(organization=world.org)
        ),
    )
    assert level3.depth == 3
    response = _post(client_for(world.member), world, name="Deep", parent=level3.pk)
    error = assert_error(response, 422, "category_too_deep")
    assert error["fields"]["parent"][0]["code"] == "category_too_deep"
    assert not Category.objects.filter(name="Deep").exists()


def test_kind_must_equal_parents(world):
    parent = CategoryFactory(organization=world.org, kind="income")
    response = _post(
        client_for(world.member), world, name="Bonus", kind="expense", parent=parent.pk
    )
    error = assert_error(response, 422, "category_kind_mismatch")
    assert "kind" in error["fields"]
    ok = _post(client_for(world.member), world, name="Bonus", kind="income", parent=parent.pk)
    assert ok.status_code == 201


def test_sibling_names_are_unique(world):
    api = client_for(world.member)
    parent = CategoryFactory(organization=world.org)
    assert _post(api, world, name="Food", parent=parent.pk).status_code == 201
    assert_error(_post(api, world, name="Food", parent=parent.pk), 409, "category_name_taken")
    assert Category.objects.filter(name="Food").count() == 1


def test_root_names_are_unique(world):
    api = client_for(world.member)
    assert _post(api, world, name="Food").status_code == 201
    assert_error(_post(api, world, name="Food"), 409, "category_name_taken")
    assert_error(_post(api, world, name="Food", kind="income"), 409, "category_name_taken")


def test_same_name_under_different_parents_is_fine(world):
    api = client_for(world.member)
    a = CategoryFactory(organization=world.org, name="A")
    b = CategoryFactory(organization=world.org, name="B")
    assert _post(api, world, name="Other", parent=a.pk).status_code == 201
    assert _post(api, world, name="Other", parent=b.pk).status_code == 201
    assert _post(api, world, name="Other").status_code == 201  # and at the root
    assert Category.objects.filter(organization=world.org, name="Other").count() == 3


def test_same_root_name_in_another_organisation_is_fine(world):
    CategoryFactory(organization=world.other_org, name="Food")
    assert _post(client_for(world.member), world, name="Food").status_code == 201


def test_parent_from_another_organisation_is_not_found_422(world):
    foreign = CategoryFactory(organization=world.other_org, name="Secret")
    response = _post(client_for(world.member), world, name="Mine", parent=foreign.pk)
    error = assert_error(response, 422)
    assert error["fields"]["parent"][0]["code"] == "not_found"
    assert "Secret" not in str(error)
    missing = _post(client_for(world.member), world, name="Mine", parent=999_999_999)
    assert assert_error(missing, 422)["message"] == error["message"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "expense"}, "name"),
        ({"name": 5}, "name"),
        ({"name": "A", "parent": "one"}, "parent"),
        ({"name": "A", "colour": "red"}, "colour"),
        ({"name": "A", "depth": 2}, "depth"),
    ],
)
def test_wrong_shape_is_400(world, payload, field):
    response = client_for(world.member).post(_url(world), payload, format="json")
    error = assert_error(response, 400)
    assert field in error["fields"]
    assert not Category.objects.filter(organization=world.org).exists()


def test_too_long_name_is_422(world):
    error = assert_error(_post(client_for(world.member), world, name="x" * 81), 422)
    assert error["fields"]["name"][0]["code"] == "max_length"


def test_unknown_kind_is_refused(world):
    response = _post(client_for(world.member), world, name="A", kind="savings")
    error = assert_error(response, 422)
    assert "kind" in error["fields"]


def test_list_is_this_organisation_only(world):
    root = CategoryFactory(organization=world.org, name="Root")
    CategoryFactory(organization=world.org, name="Child", parent=root)
    CategoryFactory(organization=world.other_org, name="Hidden")
    response = client_for(world.viewer).get(_url(world))
    assert response.status_code == 200
    assert [(c["name"], c["depth"]) for c in response.json()["results"]] == [
        ("Root", 1),
        ("Child", 2),
    ]


def test_viewer_cannot_create(world):
    assert_error(_post(client_for(world.viewer), world, name="A"), 403, "permission_denied")
    assert not Category.objects.filter(organization=world.org).exists()


def test_unauthenticated_is_401(world):
    assert_error(client_for(None).get(_url(world)), 401, "not_authenticated")
    assert_error(_post(client_for(None), world, name="A"), 401, "not_authenticated")


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_wrong_method_is_405(world, method):
    response = getattr(client_for(world.member), method)(_url(world), {}, format="json")
    assert_error(response, 405, "method_not_allowed")


def test_other_organisation_is_404(world):
    assert_other_org_is_404(world.outsider, "get", _url(world))
    assert_other_org_is_404(world.outsider, "post", _url(world), {"name": "X"})
    assert not Category.objects.filter(organization=world.org).exists()
