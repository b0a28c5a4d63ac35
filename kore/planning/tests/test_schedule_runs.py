"""The worker's schedule run: book once, link the bank's row, flag the bill that did not come."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from kore.ledger.models import Transaction
from kore.planning.models import ScheduleOccurrence
from kore.planning.runs import schedule_run
from kore.planning.services import schedule_create

from .conftest import book

pytestmark = pytest.mark.django_db


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T12:00:00").replace(tzinfo=UTC)


def rent(ctx, account, **extra):
    values = {
        "amount": Decimal("-950.00"),
        "counterparty": "Hausverwaltung Meier GmbH",
        "rule": "monthly",
        "day_of_month": 31,
        "starts_on": date(2024, 1, 1),
    } | extra
    return schedule_create(ctx=ctx, account=account.pk, **values)  # fmt: skip


def imported(ctx, account, on: str, amount: str, counterparty: str) -> Transaction:
    tx = book(ctx, account, on, amount, counterparty=counterparty)
    Transaction.objects.filter(pk=tx.pk).update(fingerprint=f"fp-{tx.pk}", status="cleared")
    return Transaction.objects.get(pk=tx.pk)


def test_the_worker_books_each_date_once_across_month_ends_and_a_leap_year(ctx, account):
    schedule = rent(ctx, account)
    assert schedule_run(schedule_id=schedule.pk, now=at("2024-04-30")) == 4
    assert schedule_run(schedule_id=schedule.pk, now=at("2024-04-30")) == 0  # a re-run
    rows = Transaction.objects.filter(account=account).order_by("occurred_on")
    assert [r.occurred_on for r in rows] == [
        date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30),
    ]  # fmt: skip
    assert {r.amount for r in rows} == {Decimal("-950.00")}
    assert {r.status for r in rows} == {"pending"}  # reconciliation status is left alone
    outcomes = ScheduleOccurrence.objects.filter(schedule=schedule)
    assert sorted((o.due_on, o.outcome, o.transaction_id) for o in outcomes) == sorted(
        (r.occurred_on, "created", r.pk) for r in rows
    )


def test_an_ended_schedule_books_nothing_after_its_end(ctx, account):
    schedule = rent(ctx, account, ends_on=date(2024, 2, 29))
    assert schedule_run(schedule_id=schedule.pk, now=at("2024-06-30")) == 2


def test_a_forecast_schedule_books_nothing_and_flags_the_bill_that_did_not_come(ctx, account):
    schedule = rent(ctx, account, mode="forecast", starts_on=date(2026, 1, 1), match_days=3)
    assert schedule_run(schedule_id=schedule.pk, now=at("2026-02-02")) == 0
    assert not ScheduleOccurrence.objects.exists()  # Jan 31 is still within its 3 days
    schedule_run(schedule_id=schedule.pk, now=at("2026-02-04"))
    flagged = ScheduleOccurrence.objects.get()
    assert (flagged.due_on, flagged.outcome, flagged.transaction) == (date(2026, 1, 31),
                                                                      "missed", None)  # fmt: skip
    assert not Transaction.objects.exists()


def test_an_imported_row_is_linked_instead_of_booked_twice(ctx, account):
    schedule = rent(ctx, account, starts_on=date(2026, 1, 1), amount_tolerance=Decimal("5.00"))
    bank = imported(ctx, account, "2026-01-30", "-952.50", "HAUSVERWALTUNG MEIER GMBH SEPA")
    assert schedule_run(schedule_id=schedule.pk, now=at("2026-01-31")) == 0
    occurrence = ScheduleOccurrence.objects.get()
    assert (occurrence.due_on, occurrence.outcome, occurrence.transaction_id) == (
        date(2026, 1, 31), "linked", bank.pk)  # fmt: skip
    assert Transaction.objects.count() == 1


def test_a_missed_bill_that_arrives_late_is_linked(ctx, account):
    schedule = rent(ctx, account, mode="forecast", starts_on=date(2026, 1, 1), match_days=5)
    schedule_run(schedule_id=schedule.pk, now=at("2026-02-10"))
    assert ScheduleOccurrence.objects.get().outcome == "missed"
    bank = imported(ctx, account, "2026-02-04", "-950.00", "Hausverwaltung Meier")
    schedule_run(schedule_id=schedule.pk, now=at("2026-02-11"))
    assert ScheduleOccurrence.objects.get().transaction_id == bank.pk


def test_a_row_outside_the_tolerance_or_of_another_payee_is_not_linked(ctx, account):
    schedule = rent(ctx, account, starts_on=date(2026, 1, 1), amount_tolerance=Decimal("1.00"))
    imported(ctx, account, "2026-01-31", "-952.00", "Hausverwaltung Meier")
    imported(ctx, account, "2026-01-31", "-950.00", "Stadtwerke")
    assert schedule_run(schedule_id=schedule.pk, now=at("2026-01-31")) == 1  # booked: no fit
    assert ScheduleOccurrence.objects.get().outcome == "created"


def test_a_row_two_schedules_fit_is_left_alone(ctx, account):
    first = rent(ctx, account, starts_on=date(2026, 1, 1), mode="forecast")
    second = rent(ctx, account, starts_on=date(2026, 1, 1), mode="forecast", day_of_month=30)
    imported(ctx, account, "2026-01-30", "-950.00", "Hausverwaltung Meier")
    schedule_run(schedule_id=first.pk, now=at("2026-01-31"))
    schedule_run(schedule_id=second.pk, now=at("2026-01-31"))
    assert not ScheduleOccurrence.objects.exists()


def test_a_bill_that_arrives_early_settles_its_date(ctx, account):
    schedule = rent(ctx, account, starts_on=date(2026, 1, 1))
    bank = imported(ctx, account, "2026-01-29", "-950.00", "Hausverwaltung Meier")
    assert schedule_run(schedule_id=schedule.pk, now=at("2026-01-29")) == 0
    assert ScheduleOccurrence.objects.get().transaction_id == bank.pk
    assert schedule_run(schedule_id=schedule.pk, now=at("2026-01-31")) == 0
    assert Transaction.objects.count() == 1


def test_the_date_is_the_organisations_around_daylight_saving(ctx, account, world):
    world.org.time_zone = "Europe/Berlin"
    world.org.save()
    schedule = rent(ctx, account, day_of_month=30, starts_on=date(2026, 3, 1))
    # 22:30 UTC on Mar 29 is 00:30 on Mar 30 in Berlin (summer time, UTC+2): the date is due.
    late = datetime(2026, 3, 29, 22, 30, tzinfo=UTC)
    assert schedule_run(schedule_id=schedule.pk, now=late) == 1
    assert Transaction.objects.get().occurred_on == date(2026, 3, 30)


def test_the_banks_row_replaces_the_untouched_transaction_booked_for_its_date(ctx, account):
    schedule = rent(ctx, account, starts_on=date(2026, 1, 1), amount_tolerance=Decimal("10.00"))
    assert schedule_run(schedule_id=schedule.pk, now=at("2026-01-31")) == 1
    booked = Transaction.objects.get()
    bank = imported(ctx, account, "2026-02-02", "-955.00", "Hausverwaltung Meier")
    schedule_run(schedule_id=schedule.pk, now=at("2026-02-03"))
    occurrence = ScheduleOccurrence.objects.get()
    assert (occurrence.outcome, occurrence.transaction_id) == ("linked", bank.pk)
    live = Transaction.objects.filter(account=account, deleted_at__isnull=True)
    assert list(live.values_list("pk", flat=True)) == [bank.pk]
    assert Transaction.objects.get(pk=booked.pk).deleted_at is not None  # restorable


def test_a_booked_transaction_someone_edited_is_kept(ctx, account):
    from kore.ledger.services.transactions import transaction_update

    schedule = rent(ctx, account, starts_on=date(2026, 1, 1), amount_tolerance=Decimal("10.00"))
    schedule_run(schedule_id=schedule.pk, now=at("2026-01-31"))
    booked = Transaction.objects.get()
    transaction_update(ctx=ctx, tx_id=booked.pk, notes="paid by card this time")
    imported(ctx, account, "2026-02-02", "-955.00", "Hausverwaltung Meier")
    schedule_run(schedule_id=schedule.pk, now=at("2026-02-03"))
    assert ScheduleOccurrence.objects.get().transaction_id == booked.pk
    assert Transaction.objects.filter(deleted_at__isnull=True).count() == 2
