"""Factories and helpers for the transaction tests (transactions, splits, tags; accounts and
categories come from kore.ledger.tests.factories)."""

from datetime import date
from decimal import Decimal
from typing import Any

import factory
from factory.django import DjangoModelFactory

from kore.core.testing import OrgWorld
from kore.ledger.models import Account, Split, Tag, Transaction
from kore.orgs.tests.factories import OrganizationFactory

from .factories import AccountFactory


class TransactionFactory(DjangoModelFactory):
    """A live transaction written straight to the table (no service, no version bump)."""

    class Meta:
        model = Transaction

    account = factory.SubFactory(AccountFactory)
    organization = factory.LazyAttribute(lambda o: o.account.organization)
    occurred_on = date(2026, 1, 15)
    amount = Decimal("-10.00")
    currency = factory.LazyAttribute(lambda o: o.account.currency)


class SplitFactory(DjangoModelFactory):
    class Meta:
        model = Split

    transaction = factory.SubFactory(TransactionFactory)
    amount = Decimal("-1.00")


class TagFactory(DjangoModelFactory):
    class Meta:
        model = Tag

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"tag{n}")


def tx_base(world: OrgWorld) -> str:
    return f"/api/v1/orgs/{world.org.slug}/transactions/"


def tx_url(world: OrgWorld, tx_id: int) -> str:
    return f"{tx_base(world)}{tx_id}/"


def tx_payload(account: Account, **extra: Any) -> dict[str, Any]:
    return {"account": account.pk, "occurred_on": "2026-01-15", "amount": "-12.30"} | extra
