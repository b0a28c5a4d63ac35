"""Planning: budgets on the category tree, and schedules of expected transactions.

A budget sets an amount for one category (its descendants included) per month or for one
custom period, in one currency. Thresholds crossed in a period are recorded once per period
(``BudgetAlert``), which is what makes the alert emails idempotent.

A schedule says when a transaction is expected (monthly on a day, every N weeks, the last
business day of the month). Each date it reached is one ``ScheduleOccurrence`` row, unique per
schedule and date: the worker books the transaction (``created``), or finds the bank's own row
in an import (``linked``), or, once the matching window passed with nothing, flags the bill as
``missed``. The ledger's transactions stay as they are: "this row came from a schedule" is the
occurrence pointing at it, kept apart from the row's reconciliation status.
"""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from kore.ledger.models import Account, Category, MoneyColumn, Transaction
from kore.orgs.models import Organization


def _default_thresholds() -> list[int]:
    return [80, 100]


class Budget(models.Model):
    class Period(models.TextChoices):
        MONTH = "month"
        CUSTOM = "custom"

    class Rollover(models.TextChoices):
        """What a month's remainder does to the next month's amount."""

        NONE = "none"  # every month starts from the amount
        POSITIVE = "positive"  # what was left is added; an overspend is forgiven
        BOTH = "both"  # what was left is added, an overspend is taken off

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # A budget is for its category: deleting the category (the ledger moves its rows first)
    # deletes its budgets.
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    amount = MoneyColumn()
    currency = models.CharField(max_length=3)
    period = models.CharField(max_length=6, choices=Period.choices, default=Period.MONTH)
    # month: the first month counted (its first day) and, optionally, the last one's first day;
    # custom: the period's first and last days.
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    rollover = models.CharField(max_length=8, choices=Rollover.choices, default=Rollover.NONE)
    thresholds = models.JSONField(default=_default_thresholds)  # whole percentages, ascending
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="planning_budget_amount_pos"),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="planning_budget_dates_ordered",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["organization", "id"], name="planning_budget_org")
        ]

    def __str__(self) -> str:
        return f"budget {self.pk} ({self.amount} {self.currency})"


class BudgetAlert(models.Model):
    """A threshold a budget's spending reached in one period: at most one row, and one email,
    per budget, period and threshold (the unique constraint holds under re-runs)."""

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="alerts")
    period_start = models.DateField()
    threshold = models.PositiveSmallIntegerField()
    spent = MoneyColumn()
    budgeted = MoneyColumn()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["budget", "period_start", "threshold"], name="planning_alert_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.budget_id} {self.period_start} {self.threshold}%"


class Schedule(models.Model):
    class Rule(models.TextChoices):
        MONTHLY = "monthly"  # on day_of_month, the month's last day when it has fewer days
        WEEKLY = "weekly"  # every ``interval`` weeks from starts_on
        LAST_BUSINESS_DAY = "last_business_day"  # the month's last Monday-to-Friday

    class Mode(models.TextChoices):
        CREATE = "create"  # the worker books the transaction on its date
        FORECAST = "forecast"  # only forecast; the bank's row is expected from an import

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # The ledger deletes only an account without transactions; its schedules go with it.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(
        Category, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    amount = MoneyColumn()  # signed, in the account's currency: negative is money out
    description = models.CharField(max_length=500, blank=True)
    counterparty = models.CharField(max_length=200, blank=True)
    rule = models.CharField(max_length=20, choices=Rule.choices)
    interval = models.PositiveSmallIntegerField(default=1)  # months or weeks between dates
    day_of_month = models.PositiveSmallIntegerField(null=True, blank=True)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.CREATE)
    # An imported row is this schedule's when it is within these of the date and the amount.
    match_days = models.PositiveSmallIntegerField(default=3)
    amount_tolerance = MoneyColumn(default=0)
    active = models.BooleanField(default=True)
    # Who the worker books the transactions for (their created_by).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=~Q(amount=0), name="planning_schedule_amount_nonzero"),
            models.CheckConstraint(
                condition=Q(interval__gte=1), name="planning_schedule_interval_pos"
            ),
            models.CheckConstraint(
                condition=Q(amount_tolerance__gte=0), name="planning_schedule_tolerance_pos"
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["organization", "id"], name="planning_schedule_org"),
            models.Index(fields=["account"], name="planning_schedule_account"),
        ]

    def __str__(self) -> str:
        return f"schedule {self.pk} ({self.rule})"


class ScheduleOccurrence(models.Model):
    """One date a schedule reached, and what became of it."""

    class Outcome(models.TextChoices):
        CREATED = "created"  # the worker booked ``transaction`` from the schedule
        LINKED = "linked"  # ``transaction`` is the bank's imported row for this date
        MISSED = "missed"  # the window passed and no imported row matched: the bill is missing

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="occurrences")
    due_on = models.DateField()
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    transaction = models.OneToOneField(
        Transaction, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["schedule", "due_on"], name="planning_occurrence_once"),
        ]

    def __str__(self) -> str:
        return f"{self.schedule_id} {self.due_on} {self.outcome}"
