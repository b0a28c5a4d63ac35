"""Export test fixtures: an account, a category and a helper that records transactions."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from kore.ledger.services.transactions import transaction_create_many
from kore.ledger.tests.factories import AccountFactory, CategoryFactory
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext


def owner_ctx(world) -> OrgContext:
    return OrgContext(world.org, Role.OWNER, world.owner, None)


def record(world, account, rows: list[dict[str, Any]]) -> list[int]:
    items = [
        {"account": account.pk, "occurred_on": date(2025, 1, 1), "amount": Decimal("1.00"), **row}
        for row in rows
    ]
    ids: list[int] = []
    for start in range(0, len(items), 1000):
        created = transaction_create_many(ctx=owner_ctx(world), rows=items[start : start + 1000])
        ids += [tx.pk for tx in created]
    return ids


@pytest.fixture
def account(world):
    return AccountFactory(organization=world.org, currency="EUR", name="Main")


@pytest.fixture
def category(world):
    return CategoryFactory(organization=world.org, name="Food")


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
