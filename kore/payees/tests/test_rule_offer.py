"""After a re-categorise of one payee's rows, Kore offers the rule that would have done it."""

import pytest

from kore.core.testing import client_for
from kore.ledger.tests.factories import AccountFactory, CategoryFactory, base
from kore.payees.models import Rule
from kore.web.tests.helpers import browser, form_data

pytestmark = pytest.mark.django_db


def _rows(api, world, account, counterparty, count=2):
    ids = []
    for _ in range(count):
        body = {"account": account.pk, "occurred_on": "2024-03-05", "amount": "-9.99",
                "counterparty": counterparty}  # fmt: skip
        ids.append(api.post(f"{base(world)}/transactions/", body, format="json").json()["id"])
    return ids


def _recategorise(api, world, ids, category):
    body = {"ids": ids, "set": {"category": category.pk}}
    response = api.post(f"{base(world)}/transactions/bulk-update/", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def test_the_offered_rule_is_ready_to_post(world):
    api = client_for(world.member)
    account = AccountFactory(organization=world.org)
    tv = CategoryFactory(organization=world.org, name="TV")
    offer = _recategorise(api, world, _rows(api, world, account, "NETFLIX.COM"), tv)["rule_offer"]
    assert offer["actions"] == {"category": tv.pk}
    created = api.post(f"{base(world)}/rules/", offer, format="json")
    assert created.status_code == 201, created.json()
    again = _recategorise(api, world, _rows(api, world, account, "Netflix"), tv)
    assert "rule_offer" not in again  # a rule already does it


def test_no_offer_for_mixed_payees(world):
    api = client_for(world.member)
    account = AccountFactory(organization=world.org)
    tv = CategoryFactory(organization=world.org)
    ids = _rows(api, world, account, "Netflix", 1) + _rows(api, world, account, "Bakery", 1)
    assert "rule_offer" not in _recategorise(api, world, ids, tv)


def test_the_web_bulk_edit_offers_it_and_one_click_makes_it(world):
    api = client_for(world.member)
    account = AccountFactory(organization=world.org)
    tv = CategoryFactory(organization=world.org, name="TV")
    ids = _rows(api, world, account, "Netflix")
    client = browser(world.member)
    page = client.post(
        f"/o/{world.org.slug}/transactions/bulk/",
        {"ids": [str(i) for i in ids], "action": "categorise", "category": tv.pk},
        follow=True,
    ).content.decode()
    assert 'id="rule-offer"' in page
    client.post(f"/o/{world.org.slug}/rules/", form_data(page, "rule-offer"))
    rule = Rule.objects.get(organization=world.org)
    assert rule.conditions == [{"field": "payee", "op": "equals", "value": "Netflix"}]
    assert rule.actions == {"category": tv.pk}
