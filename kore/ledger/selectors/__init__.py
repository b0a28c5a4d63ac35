"""Ledger reads, always within one organisation: accounts, categories, statements here; the audit
feed (``audit``) and transfers (``transfers``) in their own modules."""

from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from kore.orgs.models import Organization

from ..models import Account, Category, Statement, Transaction

# What a bank has confirmed: the rows a statement's closing balance is compared with.
CLEARED_STATUSES = (Transaction.Status.CLEARED, Transaction.Status.RECONCILED)
_ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=20, decimal_places=4))


def account_list(*, organization: Organization) -> QuerySet[Account]:
    return Account.objects.filter(organization=organization).order_by("name", "id")


def account_get(*, organization: Organization, account_id: int) -> Account | None:
    return Account.objects.filter(organization=organization, pk=account_id).first()


def accounts_with_balances(qs: QuerySet[Account]) -> QuerySet[Account]:
    """``qs`` with ``balance`` (opening balance plus every live row) and ``cleared_balance``
    (opening balance plus the live cleared and reconciled rows): two subqueries in the same
    query, whatever the number of accounts."""
    live = (
        Transaction.objects.filter(account=OuterRef("pk"), deleted_at__isnull=True)
        .order_by()
        .values("account")
    )

    def total(rows: QuerySet[Transaction, Any]) -> Coalesce:
        return Coalesce(Subquery(rows.annotate(total=Sum("amount")).values("total")), _ZERO)

    return qs.annotate(
        balance=total(live) + F("opening_balance"),
        cleared_balance=total(live.filter(status__in=CLEARED_STATUSES)) + F("opening_balance"),
    )


def category_list(*, organization: Organization) -> QuerySet[Category]:
    return Category.objects.filter(organization=organization).order_by("depth", "name", "id")


def category_descendant_ids(*, category: Category) -> set[int]:
    """Ids below ``category`` (the tree is at most three levels: two queries at most)."""
    found: set[int] = set()
    frontier = {category.pk}
    while frontier:
        frontier = set(Category.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        found |= frontier
    return found


def category_get(*, organization: Organization, category_id: int) -> Category | None:
    return Category.objects.filter(organization=organization, pk=category_id).first()


def statement_list(*, organization: Organization) -> QuerySet[Statement]:
    return Statement.objects.filter(organization=organization).order_by("-end_date", "-id")


def statement_get(*, organization: Organization, statement_id: int) -> Statement | None:
    return Statement.objects.filter(organization=organization, pk=statement_id).first()
