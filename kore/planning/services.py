"""Planning writes: budgets and schedules. Each runs in one database transaction."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction as db_transaction

from kore.core.exceptions import RuleViolation, rule_violation
from kore.core.money import MoneyError, check_precision, format_amount, is_currency
from kore.fx.conversion import reporting_currency
from kore.ledger.models import Account, Category, Transaction
from kore.ledger.services.concurrency import check_version
from kore.orgs.scoping import OrgContext
from kore.orgs.selectors import organization_today
from kore.webhooks.events import BUDGET_THRESHOLD, publish

from .budgets import Progress, budget_category_ids, budget_period, budget_progress
from .conversion import rate_path_missing
from .models import Budget, BudgetAlert, Schedule
from .recurrence import first_due_date

BUDGET_FIELDS = (
    "category", "amount", "currency", "period", "starts_on", "ends_on", "rollover", "thresholds",
)  # fmt: skip
SCHEDULE_FIELDS = (
    "account", "category", "amount", "description", "counterparty", "rule", "interval",
    "day_of_month", "starts_on", "ends_on", "mode", "match_days", "amount_tolerance", "active",
)  # fmt: skip


def _money(field: str, amount: Decimal, currency: str) -> None:
    try:
        check_precision(amount, currency)
    except MoneyError as error:
        raise RuleViolation(
            error.message, code=error.code,
            fields={field: [{"code": error.code, "message": error.message}]},
        ) from error  # fmt: skip


def _category(ctx: OrgContext, category_id: int) -> Category:
    found = Category.objects.filter(organization=ctx.organization, pk=category_id).first()
    if found is None:
        raise rule_violation("category", "not_found", "No such category in this organisation.")
    return found


# --- Budgets --------------------------------------------------------------------------------------
def _budget_check(budget: Budget) -> None:
    """The rules a budget keeps, whoever writes it."""
    if not is_currency(budget.currency):
        raise rule_violation("currency", "currency_unknown", "Not an ISO 4217 currency code.")
    if budget.amount <= 0:
        raise rule_violation("amount", "amount_not_positive", "A budget's amount is positive.")
    _money("amount", budget.amount, budget.currency)
    if budget.period == Budget.Period.CUSTOM:
        if budget.ends_on is None:
            raise rule_violation("ends_on", "invalid_range", "A custom period needs ends_on.")
        if budget.rollover != Budget.Rollover.NONE:
            raise rule_violation(
                "rollover", "rollover_needs_months",
                "Rollover carries a month's remainder into the next: monthly budgets only.",
            )  # fmt: skip
    else:
        budget.starts_on = budget.starts_on.replace(day=1)
    if budget.ends_on is not None and budget.ends_on < budget.starts_on:
        raise rule_violation("ends_on", "invalid_range", "ends_on is before starts_on.")
    budget.thresholds = sorted(set(budget.thresholds))
    _budget_currency_check(budget)


def _budget_currency_check(budget: Budget) -> None:
    """Refuse a budget whose categories hold rows in a currency with no way into its own."""
    held = set(
        Transaction.objects.filter(
            organization_id=budget.organization_id,
            category_id__in=budget_category_ids(budget),
            deleted_at__isnull=True,
        )
        .values_list("currency", flat=True)
        .distinct()
        .order_by()
    )
    missing = rate_path_missing(
        organization=budget.organization, currencies=held, currency=budget.currency
    )
    if missing:
        listed = ", ".join(sorted(missing))
        raise rule_violation(
            "currency", "budget_currency_no_rate",
            f"The category holds {listed} transactions and Kore has no rate from "
            f"{listed} to {budget.currency}.",
        )  # fmt: skip


def budget_create(
    *,
    ctx: OrgContext,
    category: int,
    amount: Decimal,
    starts_on: date,
    currency: str | None = None,
    period: str = Budget.Period.MONTH,
    ends_on: date | None = None,
    rollover: str = Budget.Rollover.NONE,
    thresholds: list[int] | None = None,
) -> Budget:
    """A budget on a category (its descendants included), in the organisation's reporting
    currency unless another is given."""
    budget = Budget(
        organization=ctx.organization, amount=amount, starts_on=starts_on, ends_on=ends_on,
        currency=currency or reporting_currency(organization=ctx.organization), period=period,
        rollover=rollover, thresholds=[80, 100] if thresholds is None else thresholds,
    )  # fmt: skip
    budget.category = _category(ctx, category)
    _budget_check(budget)
    with db_transaction.atomic():
        budget.save()
    return budget


def budget_update(
    *, ctx: OrgContext, budget: Budget, if_match: str | None = None, **changes: Any
) -> Budget:
    with db_transaction.atomic():
        budget = Budget.objects.select_for_update().get(pk=budget.pk)
        check_version(budget, if_match)
        for name, value in changes.items():
            if name not in BUDGET_FIELDS:
                raise ValueError(name)
            if name == "category":
                budget.category = _category(ctx, value)
            else:
                setattr(budget, name, value)
        _budget_check(budget)
        budget.version += 1
        budget.save()
    return budget


def budget_delete(*, ctx: OrgContext, budget: Budget, if_match: str | None = None) -> None:
    with db_transaction.atomic():
        budget = Budget.objects.select_for_update().get(pk=budget.pk)
        check_version(budget, if_match)
        budget.delete()


# --- Schedules ------------------------------------------------------------------------------------
def _schedule_check(schedule: Schedule) -> None:
    currency = schedule.account.currency
    schedule.amount_tolerance = Decimal(schedule.amount_tolerance)  # the column's default is 0
    if schedule.amount == 0:
        raise rule_violation("amount", "amount_zero", "A scheduled amount is not zero.")
    _money("amount", schedule.amount, currency)
    if schedule.amount_tolerance < 0:
        raise rule_violation(
            "amount_tolerance", "amount_not_positive", "The tolerance is zero or more."
        )
    _money("amount_tolerance", schedule.amount_tolerance, currency)
    monthly = schedule.rule == Schedule.Rule.MONTHLY
    if monthly and schedule.day_of_month is None:
        raise rule_violation(
            "day_of_month", "schedule_rule_invalid", "A monthly rule needs day_of_month (1-31)."
        )
    if not monthly and schedule.day_of_month is not None:
        raise rule_violation(
            "day_of_month", "schedule_rule_invalid", "Only a monthly rule takes day_of_month."
        )
    first = first_due_date(
        schedule.rule, starts_on=schedule.starts_on, interval=schedule.interval,
        day_of_month=schedule.day_of_month, ends_on=schedule.ends_on,
    )  # fmt: skip
    if first is None:
        raise rule_violation(
            "ends_on", "schedule_no_dates",
            "The rule produces no date between starts_on and ends_on.",
        )  # fmt: skip


def _account(ctx: OrgContext, account_id: int) -> Account:
    found = Account.objects.filter(organization=ctx.organization, pk=account_id).first()
    if found is None:
        raise rule_violation("account", "not_found", "No such account in this organisation.")
    return found


def schedule_create(*, ctx: OrgContext, account: int, **values: Any) -> Schedule:
    """A schedule of an expected transaction; the rule must produce at least one date."""
    category = values.pop("category", None)
    schedule = Schedule(
        organization=ctx.organization, account=_account(ctx, account), created_by=ctx.user,
        **values,
    )  # fmt: skip
    schedule.category = None if category is None else _category(ctx, category)
    _schedule_check(schedule)
    with db_transaction.atomic():
        schedule.save()
    return schedule


def schedule_update(
    *, ctx: OrgContext, schedule: Schedule, if_match: str | None = None, **changes: Any
) -> Schedule:
    with db_transaction.atomic():
        schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
        check_version(schedule, if_match)
        for name, value in changes.items():
            if name not in SCHEDULE_FIELDS:
                raise ValueError(name)
            if name == "account":
                schedule.account = _account(ctx, value)
            elif name == "category":
                schedule.category = None if value is None else _category(ctx, value)
            else:
                setattr(schedule, name, value)
        _schedule_check(schedule)
        schedule.version += 1
        schedule.save()
    return schedule


def schedule_delete(*, ctx: OrgContext, schedule: Schedule, if_match: str | None = None) -> None:
    """Remove a schedule; the transactions it booked stay in the ledger."""
    with db_transaction.atomic():
        schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
        check_version(schedule, if_match)
        schedule.delete()


# --- Budget alerts --------------------------------------------------------------------------------
def budget_alerts_check(*, budget_id: int, on: date) -> list[int]:
    """Record each threshold the budget's period holding ``on`` has reached and not recorded
    yet, with its email and its ``budget.threshold`` webhook event, sent once that commits.
    The unique constraint on (budget, period, threshold) makes a re-run, or two at once, send
    nothing twice. Returns the new alerts' ids."""
    from kore.notifications.services import budget_alert_email_enqueue

    budget = Budget.objects.select_related("organization").filter(pk=budget_id).first()
    if budget is None:
        return []
    progress = budget_progress(budget=budget, on=on)
    new: list[int] = []
    for threshold in progress.reached(list(budget.thresholds)):
        with db_transaction.atomic():
            alert, created = BudgetAlert.objects.get_or_create(
                budget=budget, period_start=progress.period.start, threshold=threshold,
                defaults={"spent": progress.spent, "budgeted": progress.budgeted},
            )  # fmt: skip
            if created:
                budget_alert_email_enqueue(alert_id=alert.pk)
                publish(
                    budget.organization, BUDGET_THRESHOLD, _alert_event(budget, progress, alert)
                )
                new.append(alert.pk)
    return new


def _alert_event(budget: Budget, progress: Progress, alert: BudgetAlert) -> dict[str, Any]:
    """The ``budget.threshold`` webhook event's data (its id, ``evt_…``, is per alert)."""
    return {
        "budget": budget.pk,
        "category": budget.category_id,
        "threshold": alert.threshold,
        "period_start": progress.period.start,
        "period_end": progress.period.end,
        "currency": budget.currency,
        "spent": format_amount(progress.spent, budget.currency),
        "budgeted": format_amount(progress.budgeted, budget.currency),
    }


def budgets_alerts_check_all(*, now: datetime | None = None) -> int:
    """Check every budget whose period holds its organisation's today; the number of new
    alerts. Safe to run as often as wanted: each alert is recorded and sent once."""
    count = 0
    for budget in Budget.objects.select_related("organization").order_by("id"):
        today = organization_today(organization=budget.organization, now=now)
        period = budget_period(budget, on=today)
        if not period.start <= today <= period.end:  # before its first or after its last
            continue
        count += len(budget_alerts_check(budget_id=budget.pk, on=today))
    return count
