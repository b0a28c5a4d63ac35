"""Input and output shapes of the planning endpoints."""

from typing import Any

from rest_framework import serializers

from kore.core.fields import CurrencyField, IdField, MoneyField
from kore.core.money import format_amount
from kore.core.serializers import StrictCharField, StrictSerializer

from .budgets import Progress
from .forecast import AccountForecast
from .models import Budget, Schedule, ScheduleOccurrence


class BudgetInput(StrictSerializer):
    category = IdField()
    amount = MoneyField()
    currency = CurrencyField(required=False)
    period = serializers.ChoiceField(choices=Budget.Period.choices, default=Budget.Period.MONTH)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(required=False, allow_null=True)
    rollover = serializers.ChoiceField(
        choices=Budget.Rollover.choices, default=Budget.Rollover.NONE
    )
    thresholds = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=1000), max_length=10, required=False
    )


class BudgetPatch(BudgetInput):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)


class BudgetOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    category = serializers.IntegerField(source="category_id")
    amount = serializers.SerializerMethodField()
    currency = serializers.CharField()
    period = serializers.CharField()
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(allow_null=True)
    rollover = serializers.CharField()
    thresholds = serializers.ListField(child=serializers.IntegerField())
    version = serializers.IntegerField()

    def get_amount(self, budget: Budget) -> str:
        return format_amount(budget.amount, budget.currency)


def progress_data(budget: Budget, progress: Progress) -> dict[str, Any]:
    """The progress of one period as the API shows it: amounts as decimal strings."""
    currency = budget.currency

    def money(value: Any) -> str:
        return format_amount(value, currency)

    budgeted = progress.budgeted
    percent = None if budgeted <= 0 else str((progress.spent * 100 / budgeted).quantize(1))
    return {
        "budget": budget.pk,
        "category": budget.category_id,
        "currency": currency,
        "period_start": progress.period.start.isoformat(),
        "period_end": progress.period.end.isoformat(),
        "amount": money(progress.amount),
        "carried": money(progress.carried),
        "budgeted": money(budgeted),
        "spent": money(progress.spent),
        "left": money(progress.left),
        "projected": money(progress.projected),
        "percent": percent,
        "thresholds_reached": progress.reached(list(budget.thresholds)),
        "not_counted": [
            {"currency": code, "spent": format_amount(-amount, code)}
            for code, amount in sorted(progress.not_counted.items())
        ],
    }


class ScheduleInput(StrictSerializer):
    account = IdField()
    category = IdField(required=False, allow_null=True)
    amount = MoneyField()
    description = StrictCharField(max_length=500, required=False, allow_blank=True)
    counterparty = StrictCharField(max_length=200, required=False, allow_blank=True)
    rule = serializers.ChoiceField(choices=Schedule.Rule.choices)
    interval = serializers.IntegerField(min_value=1, max_value=52, required=False)
    day_of_month = serializers.IntegerField(
        min_value=1, max_value=31, required=False, allow_null=True
    )
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(required=False, allow_null=True)
    mode = serializers.ChoiceField(choices=Schedule.Mode.choices, required=False)
    match_days = serializers.IntegerField(min_value=0, max_value=31, required=False)
    amount_tolerance = MoneyField(required=False)
    active = serializers.BooleanField(required=False)


class SchedulePatch(ScheduleInput):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)


class ScheduleOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    account = serializers.IntegerField(source="account_id")
    category = serializers.IntegerField(source="category_id", allow_null=True)
    amount = serializers.SerializerMethodField()
    currency = serializers.CharField(source="account.currency")
    description = serializers.CharField()
    counterparty = serializers.CharField()
    rule = serializers.CharField()
    interval = serializers.IntegerField()
    day_of_month = serializers.IntegerField(allow_null=True)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(allow_null=True)
    mode = serializers.CharField()
    match_days = serializers.IntegerField()
    amount_tolerance = serializers.SerializerMethodField()
    active = serializers.BooleanField()
    version = serializers.IntegerField()

    def get_amount(self, schedule: Schedule) -> str:
        return format_amount(schedule.amount, schedule.account.currency)

    def get_amount_tolerance(self, schedule: Schedule) -> str:
        return format_amount(schedule.amount_tolerance, schedule.account.currency)


def occurrence_data(occurrence: ScheduleOccurrence) -> dict[str, Any]:
    tx = occurrence.transaction
    return {
        "schedule": occurrence.schedule_id,
        "due_on": occurrence.due_on.isoformat(),
        "outcome": occurrence.outcome,
        "transaction": occurrence.transaction_id,
        "arrived": tx is not None and (tx.fingerprint is not None or tx.status != "pending"),
    }


def account_forecast_data(forecast: AccountForecast) -> dict[str, Any]:
    currency = forecast.account.currency
    low_on, low = forecast.lowest
    return {
        "account": forecast.account.pk,
        "name": forecast.account.name,
        "currency": currency,
        "opening_balance": format_amount(forecast.opening, currency),
        "closing_balance": format_amount(forecast.closing, currency),
        "lowest_balance": format_amount(low, currency),
        "lowest_on": low_on.isoformat() if low_on else None,
        "items": [
            {
                "date": item.on.isoformat(),
                "schedule": item.schedule,
                "description": item.description,
                "amount": format_amount(item.amount, currency),
                "balance": format_amount(balance, currency),
            }
            for item, balance in forecast.items
        ],
    }
