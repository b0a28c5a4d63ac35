"""Planning fixtures: an organisation's context, an account, categories; the real SMTP server
and the real worker process come from the notification and import tests' fixtures."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from kore.ledger.models import Account, Category, Transaction
from kore.ledger.services.transactions import transaction_create
from kore.ledger.tests.factories import AccountFactory, CategoryFactory
from kore.notifications.tests.conftest import smtp_server  # noqa: F401 - a fixture
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext


@pytest.fixture
def ctx(world) -> OrgContext:
    return OrgContext(world.org, Role.OWNER, world.owner, None)


@pytest.fixture
def account(world) -> Account:
    return AccountFactory(organization=world.org, currency="EUR", name="Current")


@pytest.fixture
def food(world) -> Category:
    return CategoryFactory(organization=world.org, name="Food")


@pytest.fixture
def groceries(food) -> Category:
    return CategoryFactory(organization=food.organization, name="Groceries", parent=food)


def book(ctx: OrgContext, account: Account, on: str, amount: str, **extra: Any) -> Transaction:
    """A transaction through the ledger's own service."""
    return transaction_create(
        ctx=ctx, account=account.pk, occurred_on=date.fromisoformat(on), amount=Decimal(amount),
        **extra,
    )  # fmt: skip


def budgets_url(world) -> str:
    return f"/api/v1/orgs/{world.org.slug}/budgets/"
