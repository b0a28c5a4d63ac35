"""The list's PostgreSQL-rendered rows equal the Python renderer's, field for field."""

import json
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection

from kore.core.testing import client_for
from kore.ledger import selectors
from kore.ledger.models import Account, Category
from kore.ledger.serializers import transaction_json


def test_suite_runs_on_postgresql():
    assert connection.vendor == "postgresql"  # the renderer under test is PostgreSQL's


def _seed(world):
    api = client_for(world.member)
    base = f"/api/v1/orgs/{world.org.slug}"
    food = Category.objects.create(organization=world.org, name="Food")
    accounts = [
        Account.objects.create(organization=world.org, name=c, currency=c)
        for c in ("EUR", "JPY", "BHD")
    ]
    bodies = [
        {"account": accounts[0].pk, "amount": "-12.30", "tags": ["b", "a"],
         "description": "Café «crème» \u2028 \\ \" tab\there", "metadata": {"k": "v", "é": "ü"},
         "splits": [{"amount": "-10.00", "category": food.pk, "memo": "x"},
                    {"amount": "-2.30"}]},
        {"account": accounts[1].pk, "amount": "1200", "category": food.pk, "notes": "n" * 500},
        {"account": accounts[2].pk, "amount": "-0.125", "status": "cleared",
         "counterparty": "ACME \U0001f600"},
        {"account": accounts[0].pk, "amount": "0.00"},
    ]  # fmt: skip
    for day, body in enumerate(bodies, start=1):
        response = api.post(
            f"{base}/transactions/", body | {"occurred_on": f"2026-01-0{day}"}, format="json"
        )
        assert response.status_code == 201, response.json()


@pytest.mark.parametrize("ordering", list(selectors.ORDERINGS))
def test_sql_rows_equal_python_rows(world, ordering):
    _seed(world)
    page = {
        "organization": world.org,
        "filters": selectors.TransactionFilter(),
        "ordering": ordering,
        "limit": 3,
    }
    python_rows, python_cursor = selectors.transaction_page(**page)
    sql_rows, sql_cursor = selectors.transaction_page_json(**page)
    assert [json.loads(r) for r in sql_rows] == [transaction_json(r) for r in python_rows]
    assert sql_cursor is not None
    assert (
        selectors.transaction_page(**page, cursor=sql_cursor)[0]
        == selectors.transaction_page(**page, cursor=python_cursor)[0]
    )


def test_list_endpoint_serves_the_sql_rendering(world):
    _seed(world)
    api = client_for(world.viewer)
    body = api.get(f"/api/v1/orgs/{world.org.slug}/transactions/").json()
    python_rows, _ = selectors.transaction_page(
        organization=world.org, filters=selectors.TransactionFilter(), limit=50
    )
    assert body["results"] == [transaction_json(r) for r in python_rows]
    assert body["next_cursor"] is None


def _filter_cases(world):
    food = Category.objects.get(organization=world.org, name="Food")
    child = Category.objects.create(organization=world.org, name="Lunch", parent=food, depth=2)
    leaf = Category.objects.create(organization=world.org, name="Cafe", parent=child, depth=3)
    api = client_for(world.member)
    account = Account.objects.filter(organization=world.org, currency="EUR").first()
    for day, (category, description) in enumerate(
        [(leaf, "50% off_sale"), (child, "5000 off sale"), (None, "plain")], start=5
    ):
        body = {"account": account.pk, "amount": "-1.00", "occurred_on": f"2026-01-0{day}",
                "description": description, "tags": ["a"] if day == 5 else []}  # fmt: skip
        if category:
            body["category"] = category.pk
        response = api.post(f"/api/v1/orgs/{world.org.slug}/transactions/", body, format="json")
        assert response.status_code == 201, response.json()
    return {
        "category subtree": {"category": food.pk},
        "category leaf": {"category": leaf.pk},
        "dates": {"date_from": date(2026, 1, 2), "date_to": date(2026, 1, 5)},
        "amounts": {"amount_min": Decimal("-12.30"), "amount_max": Decimal("0")},
        "account": {"account": account.pk},
        "no account": {"account": 0},
        "status": {"status": "cleared"},
        "tag": {"tag": "a"},
        "text with LIKE wildcards": {"q": "50% off_"},
        "text case-insensitive": {"q": "acme"},
    }


def test_sql_filters_match_the_orm_filters(world):
    _seed(world)
    _seed(SimpleNamespace(member=world.outsider, org=world.other_org))  # same names elsewhere
    for name, params in _filter_cases(world).items():
        page = {"organization": world.org, "filters": selectors.TransactionFilter(**params)}
        orm_ids = [r["id"] for r in selectors.transaction_page(**page, limit=2)[0]]
        sql_rows, cursor = selectors.transaction_page_json(**page, limit=2)
        assert [json.loads(r)["id"] for r in sql_rows] == orm_ids, name
        everything = [r["id"] for r in selectors.transaction_page(**page, limit=50)[0]]
        if cursor:
            rest = selectors.transaction_page_json(**page, limit=50, cursor=cursor)[0]
            assert orm_ids + [json.loads(r)["id"] for r in rest] == everything, name
        else:
            assert orm_ids == everything, name
    food = Category.objects.get(organization=world.org, name="Food")
    rows, _ = selectors.transaction_page_json(
        organization=world.org, filters=selectors.TransactionFilter(category=food.pk)
    )
    assert len(rows) == 3  # the parent, its child and its grandchild's rows
