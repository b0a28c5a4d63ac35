"""The budgets page (a progress bar per budget) and the schedules page (upcoming, forecast)."""

from datetime import date
from decimal import Decimal

import pytest

from kore.orgs.selectors import organization_today
from kore.planning.services import budget_create
from kore.web.tests.helpers import browser

from .conftest import book

pytestmark = pytest.mark.django_db


def test_the_budgets_page_shows_a_bar_per_budget(world, ctx, account, food):
    today = organization_today(organization=world.org)
    budget_create(ctx=ctx, category=food.pk, amount=Decimal("200.00"), starts_on=today)
    book(ctx, account, today.isoformat(), "-170.00", category=food.pk)
    response = browser(world.viewer).get(f"/o/{world.org.slug}/budgets/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<meter min="0" max="200.00"' in html
    assert 'value="170.00"' in html
    assert "80 % reached" in html
    assert "30.00 EUR" in html  # left


def test_an_outsider_gets_a_404_page(world, ctx, food):
    budget_create(ctx=ctx, category=food.pk, amount=Decimal(1), starts_on=date(2026, 1, 1))
    response = browser(world.outsider).get(f"/o/{world.org.slug}/budgets/")
    assert response.status_code == 404
    assert "Food" not in response.content.decode()


def test_the_schedules_page_shows_upcoming_dates_the_forecast_and_missed_bills(world, ctx, account):
    from datetime import timedelta

    from kore.planning.runs import schedule_run
    from kore.planning.services import schedule_create

    today = organization_today(organization=world.org)
    book(ctx, account, today.isoformat(), "500.00")
    schedule_create(ctx=ctx, account=account.pk, amount=Decimal("-120.00"),
                    description="Internet", rule="weekly", interval=2,
                    starts_on=today + timedelta(days=3))  # fmt: skip
    water = schedule_create(ctx=ctx, account=account.pk, amount=Decimal("-40.00"),
                            description="Water", rule="weekly", mode="forecast",
                            starts_on=today - timedelta(days=20),
                            ends_on=today - timedelta(days=20))  # fmt: skip
    schedule_run(schedule_id=water.pk)
    response = browser(world.viewer).get(f"/o/{world.org.slug}/schedules/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Bills that did not arrive" in html
    assert "Water" in html
    assert (today + timedelta(days=3)).isoformat() in html
    assert "Internet" in html
    assert "380.00" in html  # 500 - 120 after the first date


def test_a_member_adds_a_budget_and_a_bad_one_is_explained(world, food):
    from kore.planning.models import Budget

    page = f"/o/{world.org.slug}/budgets/"
    client = browser(world.member)
    good = {"category": food.pk, "amount": "150.00", "period": "month",
            "starts_on": "2026-01-01", "rollover": "positive"}  # fmt: skip
    assert client.post(page, good).status_code == 302
    assert Budget.objects.get().rollover == "positive"
    bad = good | {"period": "custom", "ends_on": "2025-01-01", "rollover": "none"}
    response = client.post(page, bad)
    assert response.status_code == 422
    assert "ends_on is before starts_on" in response.content.decode()
    assert Budget.objects.count() == 1
    assert browser(world.viewer).post(page, good).status_code == 403


def test_a_member_adds_a_schedule_and_one_without_a_date_is_explained(world, account):
    from kore.planning.models import Schedule

    page = f"/o/{world.org.slug}/schedules/"
    client = browser(world.member)
    good = {"account": account.pk, "amount": "-30.00", "description": "Phone",
            "rule": "monthly", "day_of_month": "31", "interval": "1",
            "starts_on": "2026-01-01", "mode": "forecast"}  # fmt: skip
    assert client.post(page, good).status_code == 302
    assert Schedule.objects.get().day_of_month == 31
    bad = good | {"day_of_month": "1", "starts_on": "2026-03-05", "ends_on": "2026-03-30"}
    response = client.post(page, bad)
    assert response.status_code == 422
    assert "produces no date" in response.content.decode()
    assert Schedule.objects.count() == 1
