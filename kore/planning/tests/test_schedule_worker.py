"""Schedules through a REAL Celery worker process, killed mid-run: every date booked once."""

from datetime import date
from decimal import Decimal

import pytest

from kore.core.testing import wait_until
from kore.ledger.models import Transaction
from kore.orgs.selectors import organization_today
from kore.planning.models import ScheduleOccurrence
from kore.planning.runs import schedule_dates
from kore.planning.services import schedule_create
from kore.planning.tasks import run_schedules

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_killed_mid_run_leaves_whole_dates_and_the_rerun_books_the_rest_once(
    celery_worker, ctx, account
):
    schedule = schedule_create(
        ctx=ctx, account=account.pk, amount=Decimal("-3.50"), counterparty="Coffee",
        rule="weekly", starts_on=date(2010, 1, 4),
    )  # fmt: skip
    today = organization_today(organization=account.organization)
    # A run books every date up to the organisation's today, today included (this schedule falls
    # on Mondays): waiting for one date fewer would check while the run still books the last.
    expected = schedule_dates(schedule, until=today)
    assert len(expected) > 800
    run_schedules.delay(schedule_id=schedule.pk)
    wait_until(
        lambda: ScheduleOccurrence.objects.filter(schedule=schedule).count() >= 50,
        timeout=60, what="the worker to book the first dates",
    )  # fmt: skip
    celery_worker.kill9()
    occurrences = ScheduleOccurrence.objects.filter(schedule=schedule)
    done = occurrences.count()
    assert 50 <= done < len(expected), "the kill came after the run had finished"
    # Whole dates only: each occurrence has its transaction, and no transaction is without one.
    assert not occurrences.filter(transaction__isnull=True).exists()
    assert Transaction.objects.filter(account=account).count() == done
    celery_worker.start()
    run_schedules.delay(schedule_id=schedule.pk)
    run_schedules.delay(schedule_id=schedule.pk)  # twice at once: still once per date
    wait_until(
        lambda: occurrences.count() >= len(expected), timeout=120,
        what="the re-run to book the remaining dates",
    )  # fmt: skip
    days = list(Transaction.objects.filter(account=account).values_list("occurred_on", flat=True))
    assert sorted(days)[: len(expected)] == expected
    assert len(days) == len(set(days)) == occurrences.count()
