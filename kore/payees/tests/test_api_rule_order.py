"""/rules/order/: the whole order read with its ETag and set under If-Match; audited."""

import pytest

from kore.core.testing import OrgWorld, assert_error, assert_other_org_is_404, client_for
from kore.ledger.tests.factories import base
from kore.payees.models import Rule
from kore.payees.tests.factories import rule_names, rules_in_order

pytestmark = pytest.mark.django_db


def _url(world: OrgWorld) -> str:
    return f"{base(world)}/rules/order/"


def test_order_is_read_with_its_etag_and_set_under_it(world: OrgWorld) -> None:
    a, b, c = rules_in_order(world.org, "a", "b", "c")
    api = client_for(world.member)
    read = api.get(_url(world))
    assert read.json() == {"order": [a.pk, b.pk, c.pk]}
    moved = api.put(
        _url(world), {"order": [c.pk, a.pk, b.pk]}, format="json", HTTP_IF_MATCH=read["ETag"]
    )
    assert moved.status_code == 200, moved.json()
    assert moved.json() == {"order": [c.pk, a.pk, b.pk]}
    assert moved["ETag"] != read["ETag"]
    assert rule_names(world.org) == ["c", "a", "b"]
    # Every rule whose place changed has an audit row; versions stay (a queued run stays good).
    assert {r.pk: r.history.count() for r in Rule.objects.all()} == {a.pk: 2, b.pk: 2, c.pk: 2}
    assert set(Rule.objects.values_list("version", flat=True)) == {1}


def test_stale_order_is_412_and_changes_nothing(world: OrgWorld) -> None:
    a, b = rules_in_order(world.org, "a", "b")
    api = client_for(world.member)
    etag = api.get(_url(world))["ETag"]
    api.put(_url(world), {"order": [b.pk, a.pk]}, format="json", HTTP_IF_MATCH=etag)
    stale = api.put(_url(world), {"order": [a.pk, b.pk]}, format="json", HTTP_IF_MATCH=etag)
    assert_error(stale, 412, "version_conflict")
    assert rule_names(world.org) == ["b", "a"]


def test_another_organisations_rule_is_invalid_reference(world: OrgWorld) -> None:
    (a,) = rules_in_order(world.org, "a")
    (theirs,) = rules_in_order(world.other_org, "theirs")
    api = client_for(world.member)
    error = assert_error(
        api.put(_url(world), {"order": [theirs.pk, a.pk]}, format="json"),
        422,
        "invalid_reference",
    )
    assert error["fields"]["order"][0]["code"] == "not_found"
    assert Rule.objects.get(pk=theirs.pk).position == 0


def test_an_order_missing_or_repeating_a_rule_is_refused(world: OrgWorld) -> None:
    a, b = rules_in_order(world.org, "a", "b")
    api = client_for(world.member)
    for order in ([b.pk], [b.pk, b.pk], [b.pk, a.pk, a.pk]):
        response = api.put(_url(world), {"order": order}, format="json")
        assert_error(response, 422, "rule_invalid")
    assert rule_names(world.org) == ["a", "b"]


def test_bad_body_is_400(world: OrgWorld) -> None:
    rules_in_order(world.org, "a")
    response = client_for(world.member).put(_url(world), {"order": ["x"]}, format="json")
    assert response.status_code == 400


def test_viewer_cannot_reorder(world: OrgWorld) -> None:
    a, b = rules_in_order(world.org, "a", "b")
    viewer = client_for(world.viewer)
    assert viewer.get(_url(world)).status_code == 200
    refused = viewer.put(_url(world), {"order": [b.pk, a.pk]}, format="json")
    assert_error(refused, 403, "permission_denied")
    assert rule_names(world.org) == ["a", "b"]


def test_unauthenticated_other_org_and_wrong_method(world: OrgWorld) -> None:
    assert client_for(None).get(_url(world)).status_code == 401
    assert_other_org_is_404(world.outsider, "GET", _url(world))
    assert client_for(world.member).post(_url(world), {}, format="json").status_code == 405
