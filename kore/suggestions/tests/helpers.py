"""Categorised history for the suggestion tests, written straight to the ledger."""

from datetime import date, timedelta
from decimal import Decimal

from kore.ledger.models import Account, Category, Transaction
from kore.ledger.tests.factories import CategoryFactory
from kore.ledger.tests.factories_tx import TransactionFactory
from kore.orgs.models import Organization

# payee → (category name, amount)
HISTORY = {
    "NETFLIX.COM": ("Subscriptions", "-12.99"),
    "SQ *BLUE BOTTLE COFFEE OAKLAND CA": ("Coffee", "-4.50"),
    "REWE Markt Berlin": ("Groceries", "-54.20"),
    "Shell Station 4411": ("Fuel", "-61.00"),
    "ACME GmbH payroll": ("Salary", "3200.00"),
}


def history_write(
    organization: Organization, account: Account, *, repeat: int = 6
) -> dict[str, Category]:
    """``repeat`` categorised rows of each payee in ``HISTORY``; returns the categories by name."""
    categories = {
        name: CategoryFactory(organization=organization, name=name) for name, _ in HISTORY.values()
    }
    day = date(2026, 1, 1)
    for i in range(repeat):
        for payee, (name, amount) in HISTORY.items():
            TransactionFactory(
                account=account, counterparty=payee, description=f"card {i}",
                amount=Decimal(amount), category=categories[name],
                occurred_on=day + timedelta(days=i),
            )  # fmt: skip
    return categories


def uncategorised(account: Account, counterparty: str, amount: str = "-10.00") -> Transaction:
    return TransactionFactory(account=account, counterparty=counterparty, amount=Decimal(amount))
