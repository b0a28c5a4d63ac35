"""The reports page's CSV downloads (``?csv=spending`` and ``?csv=flow``)."""

import csv
import io
from decimal import Decimal

from kore.core.testing import OrgWorld
from kore.ledger.services.accounts import account_create
from kore.ledger.services.categories import category_create
from kore.ledger.services.transactions import transaction_create

from .helpers import browser, owner_ctx, page

FORMULA = '=HYPERLINK("http://x","y")'
RANGE = {"date_from": "2026-03-01", "date_to": "2026-03-31"}


def _spend(world: OrgWorld, category_name: str, amount: str) -> None:
    ctx = owner_ctx(world)
    account = account_create(ctx=ctx, name="Current", currency="EUR")
    category = category_create(ctx=ctx, name=category_name)
    transaction_create(
        ctx=ctx, account=account.pk, occurred_on="2026-03-05", amount=Decimal(amount),
        category=category.pk,
    )  # fmt: skip


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_spending_csv_neutralises_a_formula_category_name(world: OrgWorld) -> None:
    _spend(world, FORMULA, "-12.50")
    response = browser(world.viewer).get(page(world, "reports/"), {**RANGE, "csv": "spending"})
    assert _rows(response) == [["category", "currency", "spent"], ["'" + FORMULA, "EUR", "12.50"]]


def test_flow_csv_keeps_a_negative_net_a_number(world: OrgWorld) -> None:
    _spend(world, "Food", "-12.50")
    response = browser(world.viewer).get(page(world, "reports/"), {**RANGE, "csv": "flow"})
    assert _rows(response) == [
        ["month", "currency", "inflow", "outflow", "net"],
        ["2026-03", "EUR", "0.00", "-12.50", "-12.50"],
    ]
