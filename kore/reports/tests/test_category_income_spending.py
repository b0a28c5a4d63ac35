"""The categories report keeps income and spending apart and leaves transfers out, so
"Uncategorised" no longer nets a salary against the shopping, and the web chart shows
uncategorised spending."""

from decimal import Decimal

import pytest

from kore.core.testing import client_for
from kore.ledger.models import Account, Category, Transaction
from kore.web.tests.helpers import browser

RANGE = {"date_from": "2026-05-01", "date_to": "2026-05-31"}


@pytest.fixture
def may(world):
    """Uncategorised: +2,000.00 salary, -120.40 and -346.77 spending; Food: -30.00 and a +5.00
    refund; a 500.00 transfer to savings (whose legs carry a transfer category)."""
    eur = Account.objects.create(organization=world.org, name="Current", currency="EUR")
    savings = Account.objects.create(organization=world.org, name="Savings", currency="EUR")
    food = Category.objects.create(organization=world.org, name="Food", kind="expense")
    moves = Category.objects.create(organization=world.org, name="Moves", kind="transfer")
    api = client_for(world.member)
    base = f"/api/v1/orgs/{world.org.slug}"
    for amount, category in (("2000.00", None), ("-120.40", None), ("-346.77", None),
                             ("-30.00", food.pk), ("5.00", food.pk)):  # fmt: skip
        response = api.post(
            f"{base}/transactions/",
            {"account": eur.pk, "occurred_on": "2026-05-10", "amount": amount,
             "category": category},
            format="json",
        )  # fmt: skip
        assert response.status_code == 201, response.json()
    transfer = api.post(
        f"{base}/transfers/",
        {"from_account": eur.pk, "to_account": savings.pk, "amount": "500.00",
         "occurred_on": "2026-05-12"},
        format="json",
    ).json()  # fmt: skip
    Transaction.objects.filter(transfer_id=transfer["id"]).update(category=moves)
    return {"food": food, "moves": moves}


@pytest.mark.django_db
def test_income_and_spending_are_apart_and_transfers_are_left_out(world, may):
    rows = (
        client_for(world.viewer)
        .get(f"/api/v1/orgs/{world.org.slug}/reports/categories/", RANGE)
        .json()["rows"]
    )
    got = {r["category"]: (r["income"], r["spending"], r["total"], r["count"]) for r in rows}
    assert got == {
        None: ("2000.00", "-467.17", "1532.83", 3),
        may["food"].pk: ("5.00", "-30.00", "-25.00", 2),
    }
    assert may["moves"].pk not in got  # a transfer is neither income nor spending


@pytest.mark.django_db
def test_the_web_chart_and_csv_show_uncategorised_spending(world, may):
    client = browser(world.viewer)
    url = f"/o/{world.org.slug}/reports/"
    response = client.get(url, {**RANGE, "csv": "spending"})
    lines = response.content.decode().splitlines()
    assert lines == ["category,currency,spent", "Uncategorised,EUR,467.17", "Food,EUR,30.00"]
    body = client.get(url, RANGE).content.decode()
    assert "Uncategorised" in body
    assert "467.17" in body


@pytest.mark.django_db
def test_totals_stay_decimal_exact(world, may):
    rows = (
        client_for(world.viewer)
        .get(f"/api/v1/orgs/{world.org.slug}/reports/categories/", RANGE)
        .json()["rows"]
    )
    for row in rows:
        assert Decimal(row["income"]) + Decimal(row["spending"]) == Decimal(row["total"])
