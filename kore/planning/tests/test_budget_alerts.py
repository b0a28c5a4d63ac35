"""Threshold alerts: one email per budget, period and threshold, however often the check runs."""

from datetime import date
from decimal import Decimal

import pytest

from kore.notifications.tests.conftest import parts
from kore.planning.models import BudgetAlert
from kore.planning.services import budget_alerts_check, budget_create
from kore.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

from .conftest import book

pytestmark = pytest.mark.django_db(transaction=True)


def test_each_threshold_emails_the_owners_and_admins_once_per_period(
    ctx, account, food, world, smtp_server
):
    budget = budget_create(ctx=ctx, category=food.pk, amount=Decimal("100.00"),
                           starts_on=date(2026, 1, 1))  # fmt: skip
    book(ctx, account, "2026-01-05", "-85.00", category=food.pk)
    assert len(budget_alerts_check(budget_id=budget.pk, on=date(2026, 1, 5))) == 1
    assert budget_alerts_check(budget_id=budget.pk, on=date(2026, 1, 6)) == []  # a re-run
    messages = smtp_server.wait_for(1)
    assert len(messages) == 1
    assert sorted(messages[0]["To"].split(", ")) == sorted([world.owner.email, world.admin.email])
    assert "Food budget at 80 %" in messages[0]["Subject"]
    text, _ = parts(messages[0])
    assert "85.00 EUR of 100.00 EUR" in text
    book(ctx, account, "2026-01-20", "-20.00", category=food.pk)
    budget_alerts_check(budget_id=budget.pk, on=date(2026, 1, 20))
    budget_alerts_check(budget_id=budget.pk, on=date(2026, 1, 21))
    assert len(smtp_server.wait_for(2)) == 2
    book(ctx, account, "2026-02-02", "-90.00", category=food.pk)  # a new period alerts again
    budget_alerts_check(budget_id=budget.pk, on=date(2026, 2, 2))
    assert len(smtp_server.wait_for(3)) == 3
    rows = BudgetAlert.objects.order_by("id").values_list("period_start", "threshold")
    assert list(rows) == [(date(2026, 1, 1), 80), (date(2026, 1, 1), 100), (date(2026, 2, 1), 80)]


def test_each_alert_is_one_budget_threshold_webhook_event(ctx, account, food, world):
    WebhookEndpoint.objects.create(organization=world.org, url="https://hooks.example.com/k",
                                   event_types=["budget.threshold"], secret="s")  # fmt: skip
    budget = budget_create(ctx=ctx, category=food.pk, amount=Decimal("50.00"),
                           starts_on=date(2026, 1, 1))  # fmt: skip
    book(ctx, account, "2026-01-05", "-50.00", category=food.pk)
    budget_alerts_check(budget_id=budget.pk, on=date(2026, 1, 5))
    budget_alerts_check(budget_id=budget.pk, on=date(2026, 1, 5))
    events = WebhookEvent.objects.filter(organization=world.org, type="budget.threshold")
    assert sorted(e.payload["threshold"] for e in events) == [80, 100]
    assert events[0].payload | {"threshold": 0} == {
        "budget": budget.pk, "category": food.pk, "threshold": 0, "currency": "EUR",
        "period_start": "2026-01-01", "period_end": "2026-01-31",
        "spent": "50.00", "budgeted": "50.00",
    }  # fmt: skip
    assert WebhookDelivery.objects.filter(event_type="budget.threshold").count() == 2


def test_the_periodic_check_alerts_only_budgets_whose_period_holds_today(ctx, account, food, world):
    from datetime import UTC, datetime

    from kore.planning.services import budgets_alerts_check_all

    current = budget_create(ctx=ctx, category=food.pk, amount=Decimal("10.00"),
                            starts_on=date(2026, 1, 1))  # fmt: skip
    ended = budget_create(ctx=ctx, category=food.pk, amount=Decimal("10.00"), period="custom",
                          starts_on=date(2025, 12, 1), ends_on=date(2025, 12, 31))  # fmt: skip
    book(ctx, account, "2025-12-10", "-50.00", category=food.pk)
    book(ctx, account, "2026-01-10", "-50.00", category=food.pk)
    now = datetime(2026, 1, 10, 12, tzinfo=UTC)
    assert budgets_alerts_check_all(now=now) == 2  # 80 % and 100 % of January's
    assert budgets_alerts_check_all(now=now) == 0
    assert set(BudgetAlert.objects.values_list("budget_id", flat=True)) == {current.pk}
    assert ended.pk not in BudgetAlert.objects.values_list("budget_id", flat=True)
