"""The rules list says what each rule does with names, not ids, in a fixed number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kore.core.testing import OrgWorld
from kore.ledger.tests.factories import AccountFactory, CategoryFactory
from kore.payees.models import Payee, Rule

from .helpers import browser, page

pytestmark = pytest.mark.django_db


def _rule(world: OrgWorld, conditions: list, actions: dict) -> Rule:
    position = Rule.objects.filter(organization=world.org).count()
    return Rule.objects.create(
        organization=world.org, name=f"r{position}", position=position,
        conditions=conditions, actions=actions,
    )  # fmt: skip


def _named(world: OrgWorld) -> dict:
    return {
        "checking": AccountFactory(organization=world.org, name="Checking"),
        "savings": AccountFactory(organization=world.org, name="Savings"),
        "food": CategoryFactory(organization=world.org, name="Food"),
        "rent": CategoryFactory(organization=world.org, name="Rent"),
        "netflix": Payee.objects.create(organization=world.org, name="Netflix"),
    }


def test_rules_are_summarised_with_names(world: OrgWorld) -> None:
    n = _named(world)
    _rule(
        world,
        [{"field": "account", "op": "equals", "value": n["checking"].pk},
         {"field": "payee_id", "op": "equals", "value": n["netflix"].pk}],
        {"category": n["food"].pk, "payee": n["netflix"].pk},
    )  # fmt: skip
    _rule(
        world,
        [{"field": "description", "op": "contains", "value": "to savings"},
         {"field": "amount", "op": "between", "value": {"max": "-10"}}],
        {"transfer": n["savings"].pk},
    )  # fmt: skip
    _rule(
        world,
        [{"field": "direction", "op": "equals", "value": "out"}],
        {"split": [{"category": n["food"].pk, "percent": "50"},
                   {"category": n["rent"].pk, "percent": "50"}], "tags": ["home"]},
    )  # fmt: skip
    html = browser(world.member).get(page(world, "rules/")).content.decode()
    assert "account is Checking and payee is Netflix → category Food, payee Netflix" in html
    assert "description contains “to savings” and amount up to -10 → transfer to Savings" in html
    assert "money out → tags home, split Food 50 %, Rent 50 %" in html


def test_a_deleted_reference_is_said_so(world: OrgWorld) -> None:
    _rule(world, [{"field": "account", "op": "equals", "value": 999_999}], {"category": 999_998})
    html = browser(world.member).get(page(world, "rules/")).content.decode()
    assert "account is (a deleted account) → category (a deleted category)" in html


def test_names_cost_the_same_queries_for_one_rule_or_many(world: OrgWorld) -> None:
    n = _named(world)
    client = browser(world.member)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(page(world, "rules/")).status_code == 200
        return len(captured)

    actions = {"category": n["food"].pk, "transfer": n["savings"].pk}
    _rule(world, [{"field": "payee_id", "op": "equals", "value": n["netflix"].pk}], actions)
    one = queries()
    for _ in range(5):
        _rule(world, [{"field": "account", "op": "equals", "value": n["checking"].pk}], actions)
    assert queries() == one
