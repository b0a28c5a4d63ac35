"""Budget arithmetic: periods, rollover and progress, in Decimal. Reads only.

A month's budget is its amount plus what the rollover carries from the month before:
``none`` carries nothing, ``positive`` carries what was left (an overspend is forgiven),
``both`` carries what was left or takes off what was overspent. Spending is the net of the
rows under the category and its descendants (a refund lowers it), transfers left out, split
lines under their own categories (kore.reports.selectors.categorised_rows). Rows in another
currency count once converted into the budget's currency; rows with no rate are listed as
not counted, never counted at a made-up rate.
"""

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Sum

from kore.core.money import minor_units
from kore.ledger.models import Category
from kore.ledger.selectors import category_descendant_ids
from kore.orgs.models import Organization
from kore.reports.selectors import categorised_rows

from .conversion import to_budget_currency
from .models import Budget

ZERO = Decimal(0)


@dataclass(frozen=True)
class Period:
    start: date
    end: date


@dataclass
class Progress:
    """One period of a budget as a person reads it; amounts in the budget's currency."""

    period: Period
    amount: Decimal  # the budget's own amount
    carried: Decimal  # from the periods before (rollover)
    spent: Decimal
    projected: Decimal  # spending at the end of the period at the pace so far
    not_counted: dict[str, Decimal] = field(default_factory=dict)  # currency → net, no rate

    @property
    def budgeted(self) -> Decimal:
        return self.amount + self.carried

    @property
    def left(self) -> Decimal:
        return self.budgeted - self.spent

    def reached(self, thresholds: list[int]) -> list[int]:
        """The thresholds (whole percentages of what is budgeted) spending has reached."""
        if self.spent <= 0:
            return []
        return [t for t in thresholds if self.spent * 100 >= self.budgeted * t]


def month_of(day: date) -> Period:
    last = calendar.monthrange(day.year, day.month)[1]
    return Period(day.replace(day=1), day.replace(day=last))


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def budget_period(budget: Budget, *, on: date) -> Period:
    """The budget's period holding ``on``, kept within the budget's first and last periods."""
    if budget.period == Budget.Period.CUSTOM:
        assert budget.ends_on is not None
        return Period(budget.starts_on, budget.ends_on)
    first = month_of(budget.starts_on)
    if on < first.start:
        return first
    if budget.ends_on is not None and on > month_of(budget.ends_on).end:
        return month_of(budget.ends_on)
    return month_of(on)


def budget_category_ids(budget: Budget) -> set[int]:
    category = Category(pk=budget.category_id)
    return {budget.category_id, *category_descendant_ids(category=category)}


def spending_by_day(
    *, organization: Organization, category_ids: set[int], date_from: date, date_to: date
) -> dict[tuple[date, str], Decimal]:
    """Net amounts by (day, currency) under the categories: two grouped queries."""
    whole, split_lines = categorised_rows(
        organization=organization, date_from=date_from, date_to=date_to
    )
    found: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for day, currency, total in (
        whole.filter(category_id__in=category_ids)
        .values_list("occurred_on", "currency")
        .annotate(total=Sum("amount"))
        .order_by()
    ):
        found[(day, currency)] += total
    for day, currency, total in (
        split_lines.filter(category_id__in=category_ids)
        .values_list("transaction__occurred_on", "transaction__currency")
        .annotate(total=Sum("amount"))
        .order_by()
    ):
        found[(day, currency)] += total
    return found


def _round(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def _month_spent(
    organization: Organization, budget: Budget, by_day: dict[tuple[date, str], Decimal]
) -> tuple[dict[date, Decimal], dict[date, dict[str, Decimal]]]:
    """Spending (positive) per period start, in the budget's currency, and what could not be
    counted per period start and currency."""
    converted, missing = to_budget_currency(
        organization=organization, amounts=by_day, currency=budget.currency
    )
    spent: dict[date, Decimal] = defaultdict(Decimal)
    left_out: dict[date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    custom = budget.period == Budget.Period.CUSTOM
    for day, amount in converted:
        spent[budget.starts_on if custom else day.replace(day=1)] -= amount
    for day, currency, amount in missing:
        left_out[budget.starts_on if custom else day.replace(day=1)][currency] -= amount
    return spent, left_out


def budget_progress(*, budget: Budget, on: date) -> Progress:
    """The budget's period holding ``on``: what is budgeted (rollover included), spent, left,
    and the projected spending at the period's end from the pace so far."""
    period = budget_period(budget, on=on)
    first = budget.starts_on if budget.period == Budget.Period.CUSTOM else period.start
    if budget.rollover != Budget.Rollover.NONE:
        first = month_of(budget.starts_on).start
    by_day = spending_by_day(
        organization=budget.organization, category_ids=budget_category_ids(budget),
        date_from=first, date_to=period.end,
    )  # fmt: skip
    spent, left_out = _month_spent(budget.organization, budget, by_day)
    carried = ZERO
    month = first
    while month < period.start:  # rollover: every month before this one, in order
        remainder = budget.amount + carried - spent[month]
        positive_only = budget.rollover == Budget.Rollover.POSITIVE
        carried = max(ZERO, remainder) if positive_only else remainder
        month = _next_month(month)
    key = budget.starts_on if budget.period == Budget.Period.CUSTOM else period.start
    now_spent = spent[key]
    return Progress(
        period=period, amount=budget.amount, carried=carried, spent=now_spent,
        projected=_projected(now_spent, period, on, budget.currency),
        not_counted={c: a for c, a in left_out[key].items() if a},
    )  # fmt: skip


def _projected(spent: Decimal, period: Period, on: date, currency: str) -> Decimal:
    if on >= period.end:
        return spent
    if on < period.start:
        return ZERO
    elapsed = (on - period.start).days + 1
    total = (period.end - period.start).days + 1
    return _round(spent * total / elapsed, currency)
