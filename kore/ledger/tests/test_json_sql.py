"""The list's PostgreSQL-rendered rows equal the Python renderer's, field for field."""

import json

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
