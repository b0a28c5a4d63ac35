"""Budget arithmetic in Decimal: the category tree, periods, rollover, pace and currencies."""

from datetime import date
from decimal import Decimal

import pytest

from kore.fx.models import ExchangeRate
from kore.ledger.services.transfers import transfer_create
from kore.ledger.tests.factories import AccountFactory, CategoryFactory
from kore.planning.budgets import budget_progress
from kore.planning.services import budget_create

from .conftest import book

pytestmark = pytest.mark.django_db


def test_a_parents_budget_counts_its_childrens_spending(ctx, account, food, groceries):
    budget = budget_create(ctx=ctx, category=food.pk, amount=Decimal("300"),
                           starts_on=date(2026, 1, 1))  # fmt: skip
    book(ctx, account, "2026-01-03", "-40.10", category=food.pk)
    book(ctx, account, "2026-01-20", "-59.95", category=groceries.pk)
    book(ctx, account, "2026-02-01", "-500.00", category=groceries.pk)  # next month
    progress = budget_progress(budget=budget, on=date(2026, 1, 31))
    assert progress.spent == Decimal("100.05")
    assert progress.left == Decimal("199.95")


def test_a_childs_budget_does_not_count_its_parent(ctx, account, food, groceries):
    budget = budget_create(ctx=ctx, category=groceries.pk, amount=Decimal("100"),
                           starts_on=date(2026, 1, 1))  # fmt: skip
    book(ctx, account, "2026-01-03", "-40.00", category=food.pk)
    book(ctx, account, "2026-01-04", "-10.00", category=groceries.pk)
    assert budget_progress(budget=budget, on=date(2026, 1, 10)).spent == Decimal("10.00")


def test_a_refund_lowers_spending_and_split_lines_count_under_their_category(
    ctx, account, food, groceries, world
):
    other = CategoryFactory(organization=world.org, name="Home")
    budget = budget_create(ctx=ctx, category=food.pk, amount=Decimal("100"),
                           starts_on=date(2026, 3, 1))  # fmt: skip
    book(ctx, account, "2026-03-02", "-30.00", category=groceries.pk)
    book(ctx, account, "2026-03-05", "12.50", category=groceries.pk)  # a refund
    book(ctx, account, "2026-03-06", "-50.00", splits=[
        {"category": groceries.pk, "amount": Decimal("-20.00")},
        {"category": other.pk, "amount": Decimal("-30.00")},
    ])  # fmt: skip
    assert budget_progress(budget=budget, on=date(2026, 3, 6)).spent == Decimal("37.50")


def test_transfers_are_not_spending(ctx, account, world):
    savings = AccountFactory(organization=world.org, currency="EUR", name="Savings")
    moves = CategoryFactory(organization=world.org, name="Moves", kind="transfer")
    budget = budget_create(ctx=ctx, category=moves.pk, amount=Decimal("100"),
                           starts_on=date(2026, 3, 1))  # fmt: skip
    transfer_create(ctx=ctx, from_account=account.pk, to_account=savings.pk,
                    amount=Decimal("80"), occurred_on=date(2026, 3, 3))  # fmt: skip
    book(ctx, account, "2026-03-04", "-5.00", category=moves.pk)
    assert budget_progress(budget=budget, on=date(2026, 3, 9)).spent == Decimal("5.00")


@pytest.mark.parametrize(
    ("rollover", "carried_into_march"),
    [
        # January: 100 - 30 = 70 left; February: 100 (+70) - 250 spent.
        ("none", Decimal("0")),
        ("positive", Decimal("0")),  # Feb left -80: forgiven
        ("both", Decimal("-80.00")),  # Feb: 170 - 250 = -80 taken off March
    ],
)
def test_rollover_carries_what_is_left_or_overspent(
    ctx, account, food, rollover, carried_into_march
):
    budget = budget_create(ctx=ctx, category=food.pk, amount=Decimal("100.00"),
                           starts_on=date(2026, 1, 1), rollover=rollover)  # fmt: skip
    book(ctx, account, "2026-01-10", "-30.00", category=food.pk)
    book(ctx, account, "2026-02-28", "-250.00", category=food.pk)
    book(ctx, account, "2026-03-01", "-0.01", category=food.pk)
    march = budget_progress(budget=budget, on=date(2026, 3, 15))
    assert march.carried == carried_into_march
    assert march.budgeted == Decimal("100.00") + carried_into_march
    assert march.left == march.budgeted - Decimal("0.01")
    february = budget_progress(budget=budget, on=date(2026, 2, 10))
    expected = {"none": Decimal(0), "positive": Decimal("70.00"), "both": Decimal("70.00")}
    assert february.carried == expected[rollover]


def test_positive_rollover_keeps_adding_what_is_left_each_month(ctx, account, food):
    budget = budget_create(ctx=ctx, category=food.pk, amount=Decimal("33.33"),
                           starts_on=date(2024, 1, 1), rollover="positive")  # fmt: skip
    book(ctx, account, "2024-02-29", "-0.03", category=food.pk)
    april = budget_progress(budget=budget, on=date(2024, 4, 1))
    assert april.carried == Decimal("99.96")  # 33.33 x 3 - 0.03, exactly
    assert april.budgeted == Decimal("133.29")


def test_projection_follows_the_pace_so_far(ctx, account, food):
    budget = budget_create(ctx=ctx, category=food.pk, amount=Decimal("300"),
                           starts_on=date(2026, 4, 1))  # fmt: skip
    book(ctx, account, "2026-04-02", "-100.00", category=food.pk)
    progress = budget_progress(budget=budget, on=date(2026, 4, 10))  # 10 of 30 days
    assert progress.projected == Decimal("300.00")
    past = budget_progress(budget=budget, on=date(2026, 5, 3))
    assert (past.period.start, past.spent) == (date(2026, 5, 1), Decimal(0))


def test_projection_of_february_in_a_leap_year_counts_29_days(ctx, account, food):
    budget = budget_create(ctx=ctx, category=food.pk, amount=Decimal("100"),
                           starts_on=date(2024, 2, 1))  # fmt: skip
    book(ctx, account, "2024-02-01", "-10.00", category=food.pk)
    progress = budget_progress(budget=budget, on=date(2024, 2, 3))
    assert progress.period.end == date(2024, 2, 29)
    assert progress.projected == Decimal("96.67")  # 10 / 3 x 29, half up


def test_a_custom_period_counts_its_own_days(ctx, account, food):
    budget = budget_create(ctx=ctx, category=food.pk, amount=Decimal("1000"), period="custom",
                           starts_on=date(2026, 6, 15), ends_on=date(2026, 9, 14))  # fmt: skip
    book(ctx, account, "2026-06-14", "-1.00", category=food.pk)
    book(ctx, account, "2026-06-15", "-2.00", category=food.pk)
    book(ctx, account, "2026-09-14", "-3.00", category=food.pk)
    progress = budget_progress(budget=budget, on=date(2026, 7, 1))
    assert (progress.period.start, progress.period.end) == (date(2026, 6, 15), date(2026, 9, 14))
    assert progress.spent == Decimal("5.00")


def test_thresholds_reached_are_whole_percentages_of_what_is_budgeted(ctx, account, food):
    budget = budget_create(ctx=ctx, category=food.pk, amount=Decimal("200"),
                           starts_on=date(2026, 1, 1), thresholds=[100, 50, 80])  # fmt: skip
    assert budget.thresholds == [50, 80, 100]
    book(ctx, account, "2026-01-02", "-159.99", category=food.pk)
    assert budget_progress(budget=budget, on=date(2026, 1, 2)).reached([50, 80, 100]) == [50]
    book(ctx, account, "2026-01-02", "-0.01", category=food.pk)
    assert budget_progress(budget=budget, on=date(2026, 1, 2)).reached([50, 80, 100]) == [50, 80]


def test_spending_in_another_currency_counts_at_the_rate_of_its_day(ctx, account, food, world):
    ExchangeRate.objects.create(organization=world.org, base="EUR", quote="USD",
                                date=date(2026, 1, 1), rate=Decimal("1.25"))  # fmt: skip
    budget = budget_create(ctx=ctx, category=food.pk, amount=Decimal("100"),
                           starts_on=date(2026, 1, 1))  # fmt: skip
    dollars = AccountFactory(organization=world.org, currency="USD", name="Dollars")
    book(ctx, dollars, "2026-01-05", "-12.50", category=food.pk)  # 10.00 EUR (inverse rate)
    book(ctx, account, "2026-01-05", "-1.00", category=food.pk)
    progress = budget_progress(budget=budget, on=date(2026, 1, 5))
    assert (progress.spent, progress.not_counted) == (Decimal("11.00"), {})


def test_a_day_whose_rate_is_stale_is_shown_as_not_counted(ctx, account, food, world):
    ExchangeRate.objects.create(organization=world.org, base="EUR", quote="USD",
                                date=date(2026, 1, 1), rate=Decimal("1.25"))  # fmt: skip
    budget = budget_create(ctx=ctx, category=food.pk, amount=Decimal("100"),
                           starts_on=date(2026, 1, 1))  # fmt: skip
    dollars = AccountFactory(organization=world.org, currency="USD", name="Dollars")
    book(ctx, dollars, "2026-01-30", "-12.00", category=food.pk)  # the rate is 29 days old
    book(ctx, account, "2026-01-05", "-1.00", category=food.pk)
    progress = budget_progress(budget=budget, on=date(2026, 1, 30))
    assert progress.spent == Decimal("1.00")
    assert progress.not_counted == {"USD": Decimal("12.00")}
