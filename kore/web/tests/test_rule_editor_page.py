"""The rule editor: every condition and action the API takes, written on the page, checked by
the service the API uses, and a rule written through the API edited without losing anything."""

from datetime import date
from decimal import Decimal

import pytest

from kore.core.testing import OrgWorld, client_for
from kore.ledger.models import Transaction
from kore.ledger.tests.factories import AccountFactory, CategoryFactory, base
from kore.payees.models import Payee, Rule

from .helpers import browser, form_data, rule_post

pytestmark = pytest.mark.django_db


def _row(world: OrgWorld, account: object, text: str, amount: str) -> None:
    Transaction.objects.create(
        organization=world.org, account=account, occurred_on=date(2024, 3, 1),
        amount=Decimal(amount), currency="EUR", description=text,
    )  # fmt: skip


def _pages(world: OrgWorld) -> str:
    return f"/o/{world.org.slug}/rules/"


def test_a_rule_with_several_conditions_and_a_split_is_added(world: OrgWorld) -> None:
    account = AccountFactory(organization=world.org, currency="EUR")
    food, home = CategoryFactory(organization=world.org), CategoryFactory(organization=world.org)
    payee = Payee.objects.create(organization=world.org, name="Market")
    conditions = [
        {"field": "description", "op": "regex", "value": "^market"},
        {"field": "amount", "op": "between", "low": "-100", "high": "-1.50"},
        {"field": "account", "op": "equals", "account": account.pk},
        {"field": "direction", "op": "equals", "direction": "out"},
        {"field": "date", "op": "between", "low": "2024-01-01"},
        {"field": "currency", "op": "equals", "value": "EUR"},
    ]
    post = rule_post(
        "Market", conditions, split=((food.pk, "60"), (home.pk, "40")), payee=payee.pk,
        tags="weekly, market", notes="Shared\r\nwith Sam",
    )  # fmt: skip
    response = browser(world.member).post(_pages(world), post, follow=True)
    assert "Rule &#x27;Market&#x27; added." in response.content.decode()
    rule = Rule.objects.get(name="Market")
    assert rule.conditions == [
        {"field": "description", "op": "regex", "value": "^market"},
        {"field": "amount", "op": "between", "value": {"min": "-100", "max": "-1.50"}},
        {"field": "account", "op": "equals", "value": account.pk},
        {"field": "direction", "op": "equals", "value": "out"},
        {"field": "date", "op": "between", "value": {"from": "2024-01-01"}},
        {"field": "currency", "op": "equals", "value": "EUR"},
    ]
    assert rule.actions == {
        "payee": payee.pk, "tags": ["weekly", "market"], "notes": "Shared\nwith Sam",
        "split": [{"category": food.pk, "percent": "60"}, {"category": home.pk, "percent": "40"}],
    }  # fmt: skip


def test_a_split_not_adding_up_to_100_is_refused_with_the_reason(world: OrgWorld) -> None:
    food, home = CategoryFactory(organization=world.org), CategoryFactory(organization=world.org)
    post = rule_post(
        "Half", [{"field": "description", "op": "contains", "value": "x"}],
        split=((food.pk, "50"), (home.pk, "40")),
    )  # fmt: skip
    response = browser(world.member).post(_pages(world), post)
    assert response.status_code == 422
    assert "The percentages add up to 100." in response.content.decode()
    assert not Rule.objects.exists()


def test_an_error_is_shown_on_the_condition_row_it_concerns(world: OrgWorld) -> None:
    post = rule_post(
        "Bad", [{"field": "description", "op": "contains", "value": "ok"},
                {"field": "amount", "op": "between", "low": "10", "high": "2"}],
        notes="n",
    )  # fmt: skip
    response = browser(world.member).post(_pages(world), post)
    assert response.status_code == 422
    html = response.content.decode()
    second_row = html[html.index('name="conditions-1-field"') :]
    assert "From: The lower bound is above the upper." in second_row.split('class="cond')[0]
    assert not Rule.objects.exists()


def test_removed_and_blank_condition_rows_are_left_out(world: OrgWorld) -> None:
    cafe = CategoryFactory(organization=world.org)
    post = rule_post(
        "Cafe", [{"field": "description", "op": "contains", "value": "coffee"},
                 {"field": "counterparty", "op": "contains", "value": "gone", "DELETE": "on"},
                 {"field": "description", "op": "contains", "value": ""}],
        category=cafe.pk,
    )  # fmt: skip
    browser(world.member).post(_pages(world), post)
    rule = Rule.objects.get(name="Cafe")
    assert rule.conditions == [{"field": "description", "op": "contains", "value": "coffee"}]


def test_the_live_count_takes_every_condition(world: OrgWorld) -> None:
    account, other = AccountFactory(organization=world.org), AccountFactory(organization=world.org)
    for text, amount in (("Coffee", "-3"), ("Coffee", "-30"), ("Coffee refund", "3")):
        _row(world, account, text, amount)
    _row(world, other, "Coffee", "-3")
    cafe = CategoryFactory(organization=world.org)
    post = rule_post(
        "", [{"field": "description", "op": "contains", "value": "coffee"},
             {"field": "amount", "op": "between", "low": "-10"},
             {"field": "account", "op": "equals", "account": account.pk},
             {"field": "direction", "op": "equals", "direction": "out"}],
        category=cafe.pk,
    )  # fmt: skip
    response = browser(world.member).post(f"{_pages(world)}count/", post, HTTP_HX_REQUEST="true")
    assert "Would change 1 transaction (1 match)" in response.content.decode()
    assert not Rule.objects.exists()


def test_a_rule_from_the_api_is_saved_back_unchanged(world: OrgWorld) -> None:
    food, home = CategoryFactory(organization=world.org), CategoryFactory(organization=world.org)
    payee = Payee.objects.create(organization=world.org, name="Market")
    body = {
        "name": "From the API",
        "conditions": [
            {"field": "counterparty", "op": "equals", "value": "  Market GmbH"},
            {"field": "payee_id", "op": "equals", "value": payee.pk},
            {"field": "amount", "op": "between", "value": {"min": None, "max": "-0.01"}},
        ],
        "actions": {
            "split": [{"category": food.pk, "percent": 70}, {"category": home.pk, "percent": "30"}],
            "tags": ["groceries", "food, weekly"],  # a comma the tags input splits on
            "notes": "Two lines\r\nof notes",
            "payee": payee.pk,
        },
    }
    created = client_for(world.member).post(f"{base(world)}/rules/", body, format="json")
    assert created.status_code == 201, created.json()
    rule = Rule.objects.get()
    version = rule.version
    client = browser(world.member)
    page = client.get(f"{_pages(world)}{rule.pk}/edit/")
    assert page.status_code == 200
    post = form_data(page.content.decode(), "rule-form")
    saved = client.post(f"{_pages(world)}{rule.pk}/edit/", post, follow=True)
    assert "Rule &#x27;From the API&#x27; saved." in saved.content.decode()
    rule.refresh_from_db()
    assert (rule.conditions, rule.actions) == (body["conditions"], body["actions"])
    assert rule.version == version + 1  # saved once


def test_an_edit_keeps_what_it_did_not_touch(world: OrgWorld) -> None:
    food, home = CategoryFactory(organization=world.org), CategoryFactory(organization=world.org)
    split = [{"category": food.pk, "percent": 70}, {"category": home.pk, "percent": 30}]
    body = {
        "name": "r",
        "conditions": [{"field": "description", "op": "contains", "value": "shop"},
                       {"field": "date", "op": "between", "value": {"from": "2024-01-01"}}],
        "actions": {"split": split, "tags": ["a, b"]},
    }  # fmt: skip
    created = client_for(world.member).post(f"{base(world)}/rules/", body, format="json")
    assert created.status_code == 201, created.json()
    rule = Rule.objects.get()
    client = browser(world.member)
    url = f"{_pages(world)}{rule.pk}/edit/"
    post = form_data(client.get(url).content.decode(), "rule-form")
    post.update({"conditions-0-value": "market", "split-1-percent": "30.0", "tags": "c"})
    client.post(url, post)
    rule.refresh_from_db()
    assert rule.conditions == [{"field": "description", "op": "contains", "value": "market"},
                               body["conditions"][1]]  # fmt: skip
    assert rule.actions == {"split": [split[0], {"category": home.pk, "percent": "30.0"}],
                            "tags": ["c"]}  # fmt: skip


def test_an_edit_changes_the_rule(world: OrgWorld) -> None:
    cafe = CategoryFactory(organization=world.org)
    client = browser(world.member)
    client.post(_pages(world), rule_post(
        "Cafe", [{"field": "description", "op": "contains", "value": "coffee"}], category=cafe.pk
    ))  # fmt: skip
    rule = Rule.objects.get()
    post = form_data(client.get(f"{_pages(world)}{rule.pk}/edit/").content.decode(), "rule-form")
    post.update({"conditions-1-field": "amount", "conditions-1-op": "between",
                 "conditions-1-low": "-5", "conditions-0-value": "tea",
                 "category": ""})  # fmt: skip
    post["transfer"] = str(AccountFactory(organization=world.org).pk)
    client.post(f"{_pages(world)}{rule.pk}/edit/", post)
    rule.refresh_from_db()
    assert rule.conditions == [
        {"field": "description", "op": "contains", "value": "tea"},
        {"field": "amount", "op": "between", "value": {"min": "-5"}},
    ]
    assert rule.actions == {"transfer": int(post["transfer"])}


def test_an_edit_over_a_newer_version_is_refused(world: OrgWorld) -> None:
    cafe = CategoryFactory(organization=world.org)
    client = browser(world.member)
    client.post(_pages(world), rule_post(
        "Cafe", [{"field": "description", "op": "contains", "value": "coffee"}], category=cafe.pk
    ))  # fmt: skip
    rule = Rule.objects.get()
    post = form_data(client.get(f"{_pages(world)}{rule.pk}/edit/").content.decode(), "rule-form")
    client.post(f"{_pages(world)}{rule.pk}/", {"action": "disable"})  # someone else's change
    post["name"] = "Mine"
    response = client.post(f"{_pages(world)}{rule.pk}/edit/", post)
    assert response.status_code == 412
    assert "changed" in response.content.decode().lower()
    rule.refresh_from_db()
    assert rule.name == "Cafe"


def test_the_edit_page_by_role(world: OrgWorld) -> None:
    cafe = CategoryFactory(organization=world.org)
    browser(world.member).post(_pages(world), rule_post(
        "Cafe", [{"field": "description", "op": "contains", "value": "coffee"}], category=cafe.pk
    ))  # fmt: skip
    url = f"{_pages(world)}{Rule.objects.get().pk}/edit/"
    viewer = browser(world.viewer)
    assert viewer.get(url).status_code == 200
    assert 'id="rule-form"' not in viewer.get(url).content.decode()
    assert viewer.post(url, {"name": "x"}).status_code == 403
    assert browser(world.outsider).get(url).status_code == 404
    assert browser(world.member).get(f"{_pages(world)}999999/edit/").status_code == 404
    assert browser(None).get(url).status_code == 302
