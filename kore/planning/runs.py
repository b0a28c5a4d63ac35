"""The worker's side of schedules: each due date becomes one occurrence, exactly once.

For every date a schedule reached (up to its organisation's today, and a few days ahead for a
bill that arrives early), in this order:

1. an imported row that fits (the bank's own row: amount within the schedule's tolerance, dated
   within ``match_days``, a similar payee by kore.imports.matching) and fits no other schedule
   of the account is linked to it (``linked``), rather than booked twice. When Kore already
   booked the date and the import did not merge into it (an import merges a row of the same
   amount by itself), the booked one is deleted if it is still untouched;
2. otherwise, on or after the date, a ``create`` schedule books the transaction (``created``);
3. otherwise, once the window passed with nothing, the bill is flagged ``missed`` (an import that
   brings it later still links it).

Each date is written in its own database transaction, the occurrence row and the transaction
together, behind the unique (schedule, date) constraint: a run killed half-way leaves whole
dates only, and a re-run, or two runs at once, book nothing twice.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.db.models import Q

from kore.core.exceptions import KoreError
from kore.imports.matching import counterparties_similar
from kore.ledger.models import Transaction
from kore.ledger.services.transactions import transaction_create, transaction_delete
from kore.orgs.models import Role, User
from kore.orgs.scoping import OrgContext
from kore.orgs.selectors import organization_today

from .models import Schedule, ScheduleOccurrence
from .recurrence import due_dates

logger = logging.getLogger(__name__)
MAX_DATES_PER_RUN = 1000
# How far back each run looks for imported rows to link: a bill flagged missed still links when
# its row is imported within this; older ones are for a person to sort out.
LINK_LOOKBACK_DAYS = 92


def schedule_dates(schedule: Schedule, *, after: date | None = None, until: date) -> list[date]:
    return list(
        due_dates(
            schedule.rule, starts_on=schedule.starts_on, interval=schedule.interval,
            day_of_month=schedule.day_of_month, ends_on=schedule.ends_on, after=after,
            until=until, limit=MAX_DATES_PER_RUN,
        )
    )  # fmt: skip


def row_fits(schedule: Schedule, due_on: date, row: Transaction) -> bool:
    """Whether an imported row is this schedule's transaction of ``due_on``."""
    return (
        abs(row.occurred_on - due_on) <= timedelta(days=schedule.match_days)
        and abs(row.amount - schedule.amount) <= schedule.amount_tolerance
        and counterparties_similar(
            schedule.counterparty or schedule.description, row.counterparty or row.description
        )
    )


@dataclass(frozen=True)
class Open:
    """A date of a schedule with no bank row yet: nothing recorded, or flagged missed."""

    schedule: Schedule
    due_on: date


def _placeholder() -> Q:
    """A booked occurrence whose transaction is still Kore's own guess: not confirmed by the
    bank (no import linked to it), pending, never edited. The bank's row replaces it."""
    return Q(
        outcome=ScheduleOccurrence.Outcome.CREATED,
        transaction__fingerprint__isnull=True,
        transaction__status=Transaction.Status.PENDING,
        transaction__version=1,
        transaction__deleted_at__isnull=True,
    )


def _open_dates(schedules: Iterable[Schedule], low: date, high: date) -> list[Open]:
    found: list[Open] = []
    for schedule in schedules:
        settled = set(
            ScheduleOccurrence.objects.filter(schedule=schedule, due_on__range=(low, high))
            .exclude(outcome=ScheduleOccurrence.Outcome.MISSED)
            .exclude(_placeholder())
            .values_list("due_on", flat=True)
        )
        for day in schedule_dates(schedule, after=low - timedelta(days=1), until=high):
            if day not in settled:
                found.append(Open(schedule, day))
    return found


def _unlinked_imports(schedules: list[Schedule], low: date, high: date) -> list[Transaction]:
    """Imported rows of the schedules' account in the dates and the amounts they could be."""
    linked = ScheduleOccurrence.objects.filter(transaction__isnull=False).values("transaction_id")
    amounts = Q()
    for s in schedules:
        tolerance = s.amount_tolerance
        amounts |= Q(amount__gte=s.amount - tolerance, amount__lte=s.amount + tolerance)
    return list(
        Transaction.objects.filter(
            amounts, account_id=schedules[0].account_id, fingerprint__isnull=False,
            deleted_at__isnull=True, occurred_on__range=(low, high),
        ).exclude(pk__in=linked).order_by("occurred_on", "id")
    )  # fmt: skip


def schedules_link_imports(*, account_id: int, low: date, high: date) -> int:
    """Link imported rows of an account dated ``low``..``high`` to the schedule dates they
    are, when exactly one open date of one schedule fits a row and no other row fits that
    date. Returns the number linked."""
    schedules = list(
        Schedule.objects.filter(account_id=account_id, active=True).select_related(
            "account", "organization", "created_by"
        )
    )
    if not schedules:
        return 0
    widest = timedelta(days=max(s.match_days for s in schedules))
    opened = _open_dates(schedules, low - widest, high + widest)
    rows = _unlinked_imports(schedules, low, high)
    pairs = [(o, r) for o in opened for r in rows if row_fits(o.schedule, o.due_on, r)]
    per_row: dict[int, list[Open]] = {}
    per_date: dict[tuple[int, date], int] = {}
    for found, row in pairs:
        per_row.setdefault(row.pk, []).append(found)
        key = (found.schedule.pk, found.due_on)
        per_date[key] = per_date.get(key, 0) + 1
    linked = 0
    for row_id, fits in per_row.items():
        if len(fits) != 1 or per_date[(fits[0].schedule.pk, fits[0].due_on)] != 1:
            continue  # ambiguous: left for a person to sort out
        linked += _link(fits[0], row_id)
    return linked


def _link(found: Open, row_id: int) -> int:
    """Point the date at the bank's row; a transaction Kore booked for it as a placeholder is
    deleted (restorable, like any deletion), so the payment is in the ledger once."""
    schedule = found.schedule
    with db_transaction.atomic():
        Schedule.objects.select_for_update().filter(pk=schedule.pk).first()
        occurrence = ScheduleOccurrence.objects.filter(
            schedule=schedule, due_on=found.due_on
        ).first()
        if ScheduleOccurrence.objects.filter(transaction_id=row_id).exists():
            return 0
        placeholder = None
        if occurrence is not None and occurrence.outcome != ScheduleOccurrence.Outcome.MISSED:
            if not ScheduleOccurrence.objects.filter(_placeholder(), pk=occurrence.pk).exists():
                return 0  # settled by another run meanwhile
            placeholder = occurrence.transaction_id
        if occurrence is None:
            occurrence = ScheduleOccurrence(schedule=schedule, due_on=found.due_on)
        occurrence.outcome = ScheduleOccurrence.Outcome.LINKED
        occurrence.transaction_id = row_id
        occurrence.save()
        if placeholder is not None:
            transaction_delete(ctx=_context(schedule), tx_id=placeholder)
    return 1


def _context(schedule: Schedule) -> OrgContext:
    """Whom the worker writes for: the person who made the schedule."""
    return OrgContext(schedule.organization, Role.MEMBER, cast(User, schedule.created_by), None)


def schedule_run(*, schedule_id: int, now: datetime | None = None) -> int:
    """Settle every date of one schedule up to its organisation's today: link, book or flag.
    Returns the number of transactions booked."""
    schedule = (
        Schedule.objects.select_related("organization", "account", "created_by")
        .filter(pk=schedule_id, active=True)
        .first()
    )
    if schedule is None:
        return 0
    today = organization_today(organization=schedule.organization, now=now)
    window = timedelta(days=schedule.match_days)
    dates = schedule_dates(schedule, until=today + window)
    if not dates:
        return 0
    since = max(dates[0] - window, today - timedelta(days=LINK_LOOKBACK_DAYS))
    schedules_link_imports(account_id=schedule.account_id, low=since, high=today)
    recorded = set(
        ScheduleOccurrence.objects.filter(schedule=schedule).values_list("due_on", flat=True)
    )
    booked = 0
    for day in dates:
        if day in recorded or day > today:
            continue
        if schedule.mode == Schedule.Mode.CREATE:
            booked += _book(schedule, day)
        elif day + window < today:
            _record_missed(schedule, day)
    return booked


def _book(schedule: Schedule, day: date) -> int:
    """The transaction and its occurrence, in one database transaction; 0 when another run
    booked the date first (the unique constraint) or the ledger refuses the date."""
    ctx = _context(schedule)
    try:
        with db_transaction.atomic():
            occurrence = ScheduleOccurrence.objects.create(
                schedule=schedule, due_on=day, outcome=ScheduleOccurrence.Outcome.CREATED
            )
            occurrence.transaction = transaction_create(
                ctx=ctx, account=schedule.account_id, occurred_on=day, amount=schedule.amount,
                description=schedule.description, counterparty=schedule.counterparty,
                category=schedule.category_id,
            )  # fmt: skip
            occurrence.save(update_fields=["transaction", "updated_at"])
    except IntegrityError:
        return 0
    except KoreError as error:  # a closed period or an archived account: nothing is booked
        logger.info("schedule %s: %s not booked (%s)", schedule.pk, day, error.code)
        return 0
    return 1


def _record_missed(schedule: Schedule, day: date) -> None:
    try:
        with db_transaction.atomic():
            ScheduleOccurrence.objects.create(
                schedule=schedule, due_on=day, outcome=ScheduleOccurrence.Outcome.MISSED
            )
    except IntegrityError:
        pass


def schedules_run_all(*, now: datetime | None = None) -> int:
    """Run every active schedule; the number of transactions booked."""
    ids = Schedule.objects.filter(active=True).order_by("id").values_list("id", flat=True)
    return sum(schedule_run(schedule_id=pk, now=now) for pk in ids)
