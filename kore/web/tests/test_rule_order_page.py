"""POST /o/{slug}/rules/order/: the order a drag left, saved through the rules' order service
under the order's ETag as the page read it."""

import re

import pytest

from kore.core.testing import OrgWorld
from kore.payees.models import Rule
from kore.payees.services_rules import rule_order_etag
from kore.payees.tests.factories import rule_names, rules_in_order

from .helpers import browser, page

pytestmark = pytest.mark.django_db


def _page_etag(client, world: OrgWorld) -> str:
    html = client.get(page(world, "rules/")).content.decode()
    found = re.search(r'id="rule-order"[^>]*>.*?name="etag" value="([^"]+)"', html)
    assert found, "the page carries the order's ETag"
    return found.group(1).replace("&quot;", '"')


def _post(client, world: OrgWorld, order: list[Rule] | str, etag: str | None):
    ids = order if isinstance(order, str) else ",".join(str(r.pk) for r in order)
    return client.post(page(world, "rules/order/"), {"order": ids, "etag": etag or ""}, follow=True)


def test_the_dragged_order_is_saved_and_audited(world: OrgWorld) -> None:
    a, b, c = rules_in_order(world.org, "a", "b", "c")
    client = browser(world.member)
    etag = _page_etag(client, world)
    assert etag == rule_order_etag([a.pk, b.pk, c.pk])
    response = _post(client, world, [b, c, a], etag)
    assert "New order saved." in response.content.decode()
    assert rule_names(world.org) == ["b", "c", "a"]
    assert Rule.history.filter(id=a.pk).count() == 2  # a's move is in the audit trail


def test_a_stale_order_is_refused_with_a_message(world: OrgWorld) -> None:
    a, b, c = rules_in_order(world.org, "a", "b", "c")
    client = browser(world.member)
    etag = _page_etag(client, world)
    _post(browser(world.admin), world, [c, a, b], etag)  # someone else reorders first
    response = _post(client, world, [b, a, c], etag)
    html = response.content.decode()
    assert "reordered, added or removed elsewhere since this page was loaded" in html
    assert rule_names(world.org) == ["c", "a", "b"]


def test_another_organisations_rule_ids_are_refused(world: OrgWorld) -> None:
    (a,) = rules_in_order(world.org, "a")
    (theirs,) = rules_in_order(world.other_org, "theirs")
    client = browser(world.member)
    response = _post(client, world, [theirs, a], _page_etag(client, world))
    assert "The new order was not saved: No rule" in response.content.decode()
    assert Rule.objects.get(pk=a.pk).position == 0
    assert Rule.objects.get(pk=theirs.pk).position == 0


def test_an_order_that_is_not_ids_is_400(world: OrgWorld) -> None:
    rules_in_order(world.org, "a")
    client = browser(world.member)
    assert _post(client, world, "", None).status_code == 400
    assert _post(client, world, "1,x", None).status_code == 400


def test_viewer_cannot_reorder_and_sees_no_drag(world: OrgWorld) -> None:
    a, b = rules_in_order(world.org, "a", "b")
    client = browser(world.viewer)
    html = client.get(page(world, "rules/")).content.decode()
    assert 'draggable="true"' not in html
    assert 'id="rule-order"' not in html
    assert _post(client, world, [b, a], None).status_code == 403
    assert rule_names(world.org) == ["a", "b"]


def test_outsider_and_wrong_method(world: OrgWorld) -> None:
    a, b = rules_in_order(world.org, "a", "b")
    assert _post(browser(world.outsider), world, [b, a], None).status_code == 404
    assert browser(world.member).get(page(world, "rules/order/")).status_code == 405
    assert rule_names(world.org) == ["a", "b"]
