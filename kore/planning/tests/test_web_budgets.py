"""The budgets page: one progress bar per budget, with what is left and the projection."""

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
