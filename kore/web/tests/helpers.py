"""Test helpers for the web pages: a signed-in browser client and a small ledger."""

from decimal import Decimal
from typing import Any

from django.test import Client

from kore.core.testing import OrgWorld
from kore.ledger.models import Account, Category, Transaction
from kore.ledger.services.accounts import account_create
from kore.ledger.services.categories import category_create
from kore.ledger.services.transactions import transaction_create
from kore.orgs.models import Role, User
from kore.orgs.scoping import OrgContext


def browser(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def owner_ctx(world: OrgWorld) -> OrgContext:
    return OrgContext(world.org, Role.OWNER, world.owner, None)


def ledger(world: OrgWorld, count: int = 3) -> dict[str, Any]:
    """An account, two categories and ``count`` transactions, written through the services."""
    ctx = owner_ctx(world)
    account: Account = account_create(
        ctx=ctx, name="Current", currency="EUR", opening_balance=Decimal("100.00")
    )
    food: Category = category_create(ctx=ctx, name="Food")
    travel: Category = category_create(ctx=ctx, name="Travel")
    txs: list[Transaction] = [
        transaction_create(
            ctx=ctx,
            account=account.pk,
            occurred_on=f"2026-03-{i + 1:02d}",
            amount=Decimal(f"-{i + 1}.50"),
            description=f"Lunch {i}",
            category=food.pk,
            tags=["team"] if i == 0 else [],
        )
        for i in range(count)
    ]
    return {"account": account, "food": food, "travel": travel, "txs": txs}


def page(world: OrgWorld, path: str = "") -> str:
    return f"/o/{world.org.slug}/{path}"
