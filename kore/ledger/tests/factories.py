"""Factories for ledger accounts and categories (transactions: see factories_tx)."""

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from kore.ledger.models import Account, Category
from kore.orgs.tests.factories import OrganizationFactory


class AccountFactory(DjangoModelFactory):
    class Meta:
        model = Account

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Account {n}")
    kind = Account.Kind.BANK
    currency = "EUR"
    opening_balance = Decimal("0")


class CategoryFactory(DjangoModelFactory):
    """A root category unless ``parent`` is given (depth and kind follow the parent)."""

    class Meta:
        model = Category

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Category {n}")
    parent = None
    kind = factory.LazyAttribute(lambda o: o.parent.kind if o.parent else Category.Kind.EXPENSE)
    depth = factory.LazyAttribute(lambda o: o.parent.depth + 1 if o.parent else 1)


def base(world) -> str:
    return f"/api/v1/orgs/{world.org.slug}"
