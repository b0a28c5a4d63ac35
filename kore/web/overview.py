"""Reads for an organisation's overview page and the categories page, each a fixed number of
queries whatever the number of accounts, categories or transactions."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from kore.imports.models import ImportJob
from kore.imports.selectors import import_job_page
from kore.ledger import selectors as ledger_selectors
from kore.ledger import transaction_list as tl
from kore.ledger.models import Account, Category, Statement
from kore.orgs.models import Organization
from kore.reports.selectors import category_totals, report_cached

RECENT_IMPORTS = 5
UNCATEGORISED_AT_MOST = 10_000


def ancestry(categories: list[Category]) -> dict[int, list[int]]:
    """Each category's id with its ancestors' ids, itself first and its root last."""
    parents = {c.pk: c.parent_id for c in categories}
    out: dict[int, list[int]] = {}
    for pk in parents:
        chain, at = [pk], parents[pk]
        while at is not None and at in parents and at not in chain:
            chain.append(at)
            at = parents[at]
        out[pk] = chain
    return out


def month_start(day: date, months_back: int = 0) -> date:
    first = day.replace(day=1)
    for _ in range(months_back):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def category_sums(organization: Organization, start: date, end: date) -> list[dict[str, Any]]:
    """The categories report's rows (income and spending apart, split lines under their own
    categories, transfers left out), cached like the report itself."""
    params = {"date_from": start, "date_to": end}
    data = report_cached(
        organization, "category_totals_in_out", params,
        lambda: category_totals(organization=organization, **params),
    )  # fmt: skip
    rows: list[dict[str, Any]] = data["rows"]
    return rows


def category_month_totals(
    organization: Organization, categories: list[Category], day: date, currency: str
) -> dict[int, Decimal]:
    """Each category's net total (in minus out) in ``day``'s month, its subcategories included."""
    chains = ancestry(categories)
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for row in category_sums(organization, month_start(day), day):
        if row["currency"] != currency or row["category"] is None:
            continue
        for pk in chains.get(row["category"], []):
            totals[pk] += Decimal(row["total"])
    return dict(totals)


@dataclass
class SpendingLine:
    name: str
    this_month: Decimal
    last_month: Decimal

    @property
    def change(self) -> Decimal:
        return self.this_month - self.last_month


def spending_by_root(
    organization: Organization, categories: list[Category], today: date, currency: str
) -> list[SpendingLine]:
    """Money out per top-level category this month (to ``today``) and all of last month."""
    chains = ancestry(categories)
    names = {c.pk: c.name for c in categories}
    this_start = month_start(today)
    spent: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in category_sums(organization, month_start(today, 1), today):
        out = -Decimal(row["spending"])
        if row["currency"] != currency or not out:
            continue
        chain = chains.get(row["category"] or 0)
        name = names[chain[-1]] if chain else "Uncategorised"
        spent[name][0 if row["month"] == this_start.isoformat()[:7] else 1] += out
    lines = [SpendingLine(name, this, last) for name, (this, last) in spent.items()]
    return sorted(lines, key=lambda line: (-line.this_month, -line.last_month, line.name))


def accounts_with_status(organization: Organization) -> list[Account]:
    """Accounts with ``balance``, ``cleared_balance``, ``reconciled_through`` (the latest
    reconciled statement's end) and ``open_statements``: one query."""
    of_account = Statement.objects.filter(account=OuterRef("pk")).order_by()
    reconciled = of_account.filter(status=Statement.Status.RECONCILED).order_by("-end_date")
    open_count = (
        of_account.filter(status=Statement.Status.OPEN)
        .values("account")
        .annotate(n=Count("id"))
        .values("n")
    )
    qs = ledger_selectors.account_list(organization=organization)
    return list(
        ledger_selectors.accounts_with_balances(qs).annotate(
            reconciled_through=Subquery(reconciled.values("end_date")[:1]),
            open_statements=Coalesce(Subquery(open_count), Value(0), output_field=IntegerField()),
        )
    )


def uncategorised_count(organization: Organization) -> int:
    """The list's ``uncategorized=true`` rows a person still has to categorise: transfer legs
    take no income or expense category, so they are not counted."""
    rows = tl.filter_queryset(organization, tl.TransactionFilter(uncategorized=True))
    return (
        rows.filter(transfer__isnull=True).order_by().values("id")[:UNCATEGORISED_AT_MOST].count()
    )


@dataclass
class Overview:
    accounts: list[Account]
    spending: list[SpendingLine]
    imports: list[ImportJob]
    uncategorised: int
    lock_date: date | None


def overview(*, organization: Organization, categories: list[Category], today: date) -> Overview:
    """Everything the overview page shows."""
    imports, _ = import_job_page(organization=organization, cursor=None, limit=RECENT_IMPORTS)
    return Overview(
        accounts=accounts_with_status(organization),
        spending=spending_by_root(organization, categories, today, organization.default_currency),
        imports=imports,
        uncategorised=uncategorised_count(organization),
        lock_date=organization.lock_date,
    )
