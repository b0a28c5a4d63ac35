"""Reports, computed in SQL and cached per organisation and ledger version.

Every ledger write bumps ``LedgerState.version`` in its own transaction, and the cache key holds
that version, so a report is never stale after a commit. With Redis down the cache misses and
the report is computed directly. Totals are per currency, never summed across currencies.
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDay, TruncMonth, TruncWeek

from kore.core.money import format_amount
from kore.core.renderers import ORJSONRenderer
from kore.ledger.models import Account, Split, Transaction
from kore.ledger.services.state import ledger_version
from kore.orgs.models import Organization

CACHE_SECONDS = 24 * 3600
PERIODS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
_ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=20, decimal_places=4))


def report_cached(
    organization: Organization, name: str, params: dict[str, Any], compute: Callable[[], Any]
) -> Any:
    """The cached report for this ledger version, computing (and caching) it on a miss."""
    key = _cache_key(organization, f"report:{name}", params)
    found = cache.get(key)
    if found is not None:
        return found
    result = compute()
    cache.set(key, result, CACHE_SECONDS)
    return result


def report_cached_json(
    organization: Organization, name: str, params: dict[str, Any], compute: Callable[[], Any]
) -> bytes:
    """``report_cached``'s report already rendered as the API's JSON.

    A hit then costs one small cache read, no unpickling of the rows and no rendering.
    """
    key = _cache_key(organization, f"report-json:{name}", params)
    found = cache.get(key)
    if isinstance(found, bytes):
        return found
    body = ORJSONRenderer().render(compute())
    cache.set(key, body, CACHE_SECONDS)
    return body


def _cache_key(organization: Organization, name: str, params: dict[str, Any]) -> str:
    version = ledger_version(organization=organization)
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()
    return f"{name}:{organization.pk}:{version}:{digest[:16]}"


def _live(organization: Organization) -> QuerySet[Transaction]:
    return Transaction.objects.filter(organization=organization, deleted_at__isnull=True)


def balances(*, organization: Organization, as_of: date) -> dict[str, Any]:
    """Each account's balance at the end of ``as_of``, and totals per currency."""
    return balances_of(account_moves(organization=organization, as_of=as_of), as_of=as_of)


def account_moves(*, organization: Organization, as_of: date) -> list[dict[str, Any]]:
    """Each account (``id``, ``name``, ``currency``, ``opening_balance``, ``archived``) with what
    its live transactions moved up to ``as_of`` (``moved``), by currency, name and id."""
    moved = Coalesce(
        Sum(
            "transactions__amount",
            filter=Q(transactions__occurred_on__lte=as_of, transactions__deleted_at__isnull=True),
        ),
        _ZERO,
    )
    rows = (
        Account.objects.filter(organization=organization)
        .annotate(moved=moved)
        .order_by("currency", "name", "id")
        .values("id", "name", "currency", "opening_balance", "archived", "moved")
    )
    return list(rows)


def balances_of(rows: list[dict[str, Any]], *, as_of: date) -> dict[str, Any]:
    """``balances`` from ``account_moves``' rows (a converted report reads them once)."""
    accounts: list[dict[str, Any]] = []
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        balance = row["opening_balance"] + row["moved"]
        totals[row["currency"]] += balance
        accounts.append(
            {
                "account": row["id"],
                "name": row["name"],
                "currency": row["currency"],
                "archived": row["archived"],
                "balance": format_amount(balance, row["currency"]),
            }
        )
    return {
        "as_of": as_of.isoformat(),
        "accounts": accounts,
        "totals": [
            {"currency": c, "balance": format_amount(v, c)} for c, v in sorted(totals.items())
        ],
    }


def categorised_rows(
    *, organization: Organization, date_from: date, date_to: date
) -> tuple[QuerySet[Transaction], QuerySet[Split]]:
    """What counts under a category between two dates (inclusive): live transactions without
    split lines, and the split lines of the others, each line under its own category. Transfers
    move money between the organisation's own accounts, neither earned nor spent: left out."""
    whole = (
        _live(organization)
        .filter(occurred_on__gte=date_from, occurred_on__lte=date_to, transfer__isnull=True)
        .filter(~Exists(Split.objects.filter(transaction=OuterRef("pk"))))
    )
    split_lines = Split.objects.filter(
        transaction__organization=organization,
        transaction__deleted_at__isnull=True,
        transaction__transfer__isnull=True,
        transaction__occurred_on__gte=date_from,
        transaction__occurred_on__lte=date_to,
    )
    return whole, split_lines


CategoryDay = tuple[date, int | None, str, Decimal, Decimal, int]


def category_days(
    *, organization: Organization, date_from: date, date_to: date
) -> list[CategoryDay]:
    """What ``categorised_rows`` selects, in one scan: (day, category, currency, income,
    spending, count) per day, category and currency.

    Each live transaction is joined to its split lines (LEFT JOIN): a transaction without any
    counts whole under its own category, one with split lines counts each line under the line's
    category; transfers are left out. Rolled up by month this is the category report; kept per
    day it is what a converted report converts at each day's rate.
    """
    whole = Q(splits__id__isnull=True)
    line_amount = Case(When(whole, then=F("amount")), default=F("splits__amount"))
    rows = (
        _live(organization)
        .filter(occurred_on__gte=date_from, occurred_on__lte=date_to, transfer__isnull=True)
        .annotate(
            line_category=Case(
                When(whole, then=F("category_id")), default=F("splits__category_id")
            ),
            line_amount=line_amount,
        )
        .values("occurred_on", "line_category", "currency")
        .annotate(
            income=Coalesce(Sum("line_amount", filter=Q(line_amount__gt=0)), _ZERO),
            spending=Coalesce(Sum("line_amount", filter=Q(line_amount__lt=0)), _ZERO),
            count=Count("*"),
        )
        .values_list("occurred_on", "line_category", "currency", "income", "spending", "count")
    )
    return list(rows)


def category_totals(
    *, organization: Organization, date_from: date, date_to: date
) -> dict[str, Any]:
    """Totals by category and month; split lines count under their own categories.

    Income (money in) and spending (money out) are reported apart, ``total`` is their sum: an
    uncategorised salary no longer hides uncategorised spending. Transfers move money between
    the organisation's own accounts, neither earned nor spent: they stay out of this report.
    """
    days = category_days(organization=organization, date_from=date_from, date_to=date_to)
    return category_totals_of(days, date_from=date_from, date_to=date_to)


def category_totals_of(
    days: list[CategoryDay], *, date_from: date, date_to: date
) -> dict[str, Any]:
    """``category_totals`` from ``category_days``' rows (a converted report reads them once)."""
    merged: dict[tuple[str, Any, str], list[Any]] = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    for day, category, currency, income, spending, count in days:
        cell = merged[(day.isoformat()[:7], category, currency)]
        cell[0] += income
        cell[1] += spending
        cell[2] += count
    items = [
        {
            "month": month,
            "category": category,
            "currency": currency,
            "income": format_amount(income, currency),
            "spending": format_amount(spending, currency),
            "total": format_amount(income + spending, currency),
            "count": count,
        }
        for (month, category, currency), (income, spending, count) in sorted(
            merged.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][1] or 0)
        )
    ]
    return {"date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "rows": items}


def cash_flow(
    *,
    organization: Organization,
    date_from: date,
    date_to: date,
    period: str,
    include_transfers: bool = False,
) -> dict[str, Any]:
    """Money in, out and net per day, week (Monday) or month, per currency."""
    qs = _live(organization).filter(occurred_on__gte=date_from, occurred_on__lte=date_to)
    if not include_transfers:
        qs = qs.filter(transfer__isnull=True)
    rows = (
        qs.annotate(period=PERIODS[period]("occurred_on"))
        .values("period", "currency")
        .annotate(
            inflow=Coalesce(Sum("amount", filter=Q(amount__gt=0)), _ZERO),
            outflow=Coalesce(Sum("amount", filter=Q(amount__lt=0)), _ZERO),
            net=Sum("amount"),
        )
        .order_by("period", "currency")
    )
    return {
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "period": period,
        "rows": [
            {
                "period": row["period"].isoformat()[:10],
                "currency": row["currency"],
                "inflow": format_amount(row["inflow"], row["currency"]),
                "outflow": format_amount(row["outflow"], row["currency"]),
                "net": format_amount(row["net"], row["currency"]),
            }
            for row in rows
        ],
    }
