"""The transaction's page: amounts with the currency's decimals, and a History a person reads."""

import re
from decimal import Decimal

import pytest

from kore.core.testing import OrgWorld
from kore.ledger.services.accounts import account_create
from kore.ledger.services.transactions import (
    transaction_create,
    transaction_delete,
    transaction_restore,
    transaction_update,
)

from .helpers import browser, ledger, owner_ctx, page

pytestmark = pytest.mark.django_db


def _history(body: str) -> str:
    return re.sub(r"\s+", " ", body.split("<h2>History</h2>")[1])


def test_the_form_shows_amounts_with_the_currency_decimals(world: OrgWorld) -> None:
    data = ledger(world)
    ctx = owner_ctx(world)
    tx = transaction_create(
        ctx=ctx, account=data["account"].pk, occurred_on="2026-03-03", amount=Decimal("-85.4"),
        description="Supermarket",
        splits=[{"category": data["food"].pk, "amount": Decimal("-60"), "memo": ""},
                {"category": data["travel"].pk, "amount": Decimal("-25.4"), "memo": ""}],
    )  # fmt: skip
    yen = account_create(ctx=ctx, name="Tokyo", currency="JPY")
    tokyo = transaction_create(ctx=ctx, account=yen.pk, occurred_on="2026-03-03",
                               amount=Decimal("-1200"), description="Ramen")  # fmt: skip
    body = browser(world.member).get(page(world, f"transactions/{tx.pk}/")).content.decode()
    assert 'value="-85.40"' in body
    assert 'value="-60.00"' in body
    assert 'value="-25.40"' in body
    assert 'data-amount="-85.40"' in body
    assert "85.4000" not in body
    body = browser(world.member).get(page(world, f"transactions/{tokyo.pk}/")).content.decode()
    assert 'value="-1200"' in body
    assert "1200.0000" not in body


def test_history_shows_names_and_what_a_person_changed(world: OrgWorld) -> None:
    data = ledger(world)
    tx = data["txs"][0]
    ctx = owner_ctx(world)
    transaction_update(ctx=ctx, tx_id=tx.pk, category=data["travel"].pk, amount=Decimal("-7"))
    transaction_delete(ctx=ctx, tx_id=tx.pk)
    transaction_restore(ctx=ctx, tx_id=tx.pk)
    transaction_update(ctx=ctx, tx_id=tx.pk, tags=["late"])  # nothing the panel shows
    body = browser(world.member).get(page(world, f"transactions/{tx.pk}/")).content.decode()
    history = _history(body)
    for internal in ("created_by", "version", "deleted_at", "change_seq", "organization"):
        assert internal not in history
    assert "Account: Current" in history
    assert "Category: Food → Travel" in history
    assert "Amount: -1.50 EUR → -7.00 EUR" in history
    assert "Restored" in history
    assert "Deleted" in history
    assert history.count("<li><strong>") == 4  # created, updated, deleted, restored
    assert world.owner.email in history
