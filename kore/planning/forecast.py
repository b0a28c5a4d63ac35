"""Reads about the future: upcoming dates, bills that did not arrive, and the cash-flow
forecast per account (today's balance, then every expected date, day by day)."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce

from kore.ledger.models import Account, Transaction
from kore.orgs.models import Organization

from .models import Schedule, ScheduleOccurrence
from .runs import schedule_dates


@dataclass(frozen=True)
class Expected:
    on: date
    amount: Decimal
    description: str
    schedule: int | None  # None: a transaction already booked for a later date


@dataclass
class AccountForecast:
    account: Account
    opening: Decimal  # the balance at the end of today
    items: list[tuple[Expected, Decimal]] = field(default_factory=list)  # (item, balance after)

    @property
    def closing(self) -> Decimal:
        return self.items[-1][1] if self.items else self.opening

    @property
    def lowest(self) -> tuple[date | None, Decimal]:
        low: tuple[date | None, Decimal] = (None, self.opening)
        for item, balance in self.items:
            if balance < low[1]:
                low = (item.on, balance)
        return low


def upcoming(*, organization: Organization, today: date, days: int) -> list[Expected]:
    """Every schedule's dates after ``today`` and within ``days``, not settled already (a bill
    that arrived early is settled), by date."""
    until = today + timedelta(days=days)
    schedules = Schedule.objects.filter(organization=organization, active=True)
    settled = set(
        ScheduleOccurrence.objects.filter(
            schedule__organization=organization, due_on__gt=today, due_on__lte=until
        ).values_list("schedule_id", "due_on")
    )
    found = [
        Expected(day, s.amount, s.description or s.counterparty, s.pk)
        for s in schedules.select_related("account")
        for day in schedule_dates(s, after=today, until=until)
        if (s.pk, day) not in settled
    ]
    return sorted(found, key=lambda e: (e.on, e.schedule or 0))


def missed(*, organization: Organization, today: date) -> list[ScheduleOccurrence]:
    """Bills that did not arrive: dates flagged missed, and booked ones the bank has not
    confirmed (no import linked, still pending) once their window passed."""
    rows = (
        ScheduleOccurrence.objects.filter(schedule__organization=organization)
        .filter(
            Q(outcome=ScheduleOccurrence.Outcome.MISSED)
            | Q(
                outcome=ScheduleOccurrence.Outcome.CREATED,
                transaction__fingerprint__isnull=True,
                transaction__status=Transaction.Status.PENDING,
            )
        )
        .select_related("schedule", "transaction")
        .order_by("due_on", "id")
    )
    return [
        o for o in rows
        if o.outcome == ScheduleOccurrence.Outcome.MISSED
        or o.due_on + timedelta(days=o.schedule.match_days) < today
    ]  # fmt: skip


def cash_flow_forecast(
    *, organization: Organization, today: date, days: int, account_id: int | None = None
) -> list[AccountForecast]:
    """Each open account's balance from today to ``days`` ahead: schedules' expected dates and
    transactions already booked for later dates, in date order."""
    accounts = Account.objects.filter(organization=organization, archived=False)
    if account_id is not None:
        accounts = accounts.filter(pk=account_id)
    zero = Value(Decimal(0), output_field=DecimalField(max_digits=20, decimal_places=4))
    balances = accounts.annotate(
        moved=Coalesce(
            Sum(
                "transactions__amount",
                filter=Q(
                    transactions__occurred_on__lte=today, transactions__deleted_at__isnull=True
                ),
            ),
            zero,
        )
    ).order_by("name", "id")
    until = today + timedelta(days=days)
    items: dict[int, list[Expected]] = defaultdict(list)
    later = Transaction.objects.filter(
        organization=organization, deleted_at__isnull=True, occurred_on__gt=today,
        occurred_on__lte=until,
    ).values_list("account_id", "occurred_on", "amount", "description")  # fmt: skip
    for account_pk, on, amount, description in later:
        items[account_pk].append(Expected(on, amount, description, None))
    by_schedule = dict(
        Schedule.objects.filter(organization=organization).values_list("id", "account_id")
    )
    for expected in upcoming(organization=organization, today=today, days=days):
        assert expected.schedule is not None
        items[by_schedule[expected.schedule]].append(expected)
    result = []
    for account in balances:
        forecast = AccountForecast(account, account.opening_balance + account.moved)
        running = forecast.opening
        for expected in sorted(items[account.pk], key=lambda e: (e.on, e.schedule or 0)):
            running += expected.amount
            forecast.items.append((expected, running))
        result.append(forecast)
    return result
