"""/budgets/, /budgets/{id}/ and /budgets/{id}/progress/."""

from datetime import date
from decimal import Decimal

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.tests.factories import AccountFactory, CategoryFactory
from kore.planning.models import Budget
from kore.planning.services import budget_create

from .conftest import book, budgets_url

pytestmark = pytest.mark.django_db


def test_a_member_creates_a_monthly_budget_in_the_organisations_currency(world, food):
    body = {"category": food.pk, "amount": "250.00", "starts_on": "2026-03-14",
            "rollover": "positive"}  # fmt: skip
    response = client_for(world.member).post(budgets_url(world), body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data | {"id": 0} == {
        "id": 0, "category": food.pk, "amount": "250.00", "currency": "EUR",
        "period": "month", "starts_on": "2026-03-01", "ends_on": None,
        "rollover": "positive", "thresholds": [80, 100], "version": 1,
    }  # fmt: skip
    assert response["ETag"]


def test_the_list_holds_the_organisations_budgets_only(world, ctx, food):
    budget_create(ctx=ctx, category=food.pk, amount=Decimal(10), starts_on=date(2026, 1, 1))
    other = CategoryFactory(organization=world.other_org)
    Budget.objects.create(organization=world.other_org, category=other, amount=1,
                          currency="EUR", starts_on=date(2026, 1, 1))  # fmt: skip
    rows = client_for(world.viewer).get(budgets_url(world)).json()["results"]
    assert [r["category"] for r in rows] == [food.pk]


def test_progress_reports_spent_left_and_projection(world, ctx, account, food, groceries):
    budget = budget_create(ctx=ctx, category=food.pk, amount=Decimal(300),
                           starts_on=date(2026, 4, 1))  # fmt: skip
    book(ctx, account, "2026-04-02", "-100.00", category=groceries.pk)
    url = f"{budgets_url(world)}{budget.pk}/progress/?on=2026-04-10"
    data = client_for(world.viewer).get(url).json()
    assert data == {
        "budget": budget.pk, "category": food.pk, "currency": "EUR",
        "period_start": "2026-04-01", "period_end": "2026-04-30",
        "amount": "300.00", "carried": "0.00", "budgeted": "300.00", "spent": "100.00",
        "left": "200.00", "projected": "300.00", "percent": "33", "thresholds_reached": [],
        "not_counted": [],
    }  # fmt: skip


def test_a_budget_whose_categories_hold_a_currency_with_no_rate_is_422(world, food):
    dollars = AccountFactory(organization=world.org, currency="USD")
    from kore.orgs.models import Role
    from kore.orgs.scoping import OrgContext

    book(OrgContext(world.org, Role.OWNER, world.owner, None), dollars, "2026-01-02", "-5.00",
         category=food.pk)  # fmt: skip
    body = {"category": food.pk, "amount": "100.00", "starts_on": "2026-01-01"}
    response = client_for(world.member).post(budgets_url(world), body, format="json")
    error = assert_error(response, 422, "budget_currency_no_rate")
    assert "currency" in error["fields"]
    assert not Budget.objects.exists()


def test_a_rate_through_a_pivot_currency_is_a_path(world, food):
    from kore.fx.models import ExchangeRate
    from kore.orgs.models import Role
    from kore.orgs.scoping import OrgContext

    francs = AccountFactory(organization=world.org, currency="CHF")
    book(OrgContext(world.org, Role.OWNER, world.owner, None), francs, "2026-01-02", "-5.00",
         category=food.pk)  # fmt: skip
    for base, quote in (("USD", "CHF"), ("USD", "EUR")):
        ExchangeRate.objects.create(organization=world.org, base=base, quote=quote,
                                    date=date(2026, 1, 1), rate=Decimal("0.9"))  # fmt: skip
    body = {"category": food.pk, "amount": "100.00", "starts_on": "2026-01-01"}
    response = client_for(world.member).post(budgets_url(world), body, format="json")
    assert response.status_code == 201, response.content


def test_the_budget_currency_defaults_to_the_reporting_currency(world, food):
    world.org.reporting_currency = "GBP"
    world.org.save()
    body = {"category": food.pk, "amount": "100.00", "starts_on": "2026-01-01"}
    response = client_for(world.member).post(budgets_url(world), body, format="json")
    assert response.json()["currency"] == "GBP"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"amount": "0.00"}, "amount_not_positive"),
        ({"amount": "1.001"}, "amount_precision"),
        ({"currency": "XXX"}, "currency_unknown"),
        ({"period": "custom"}, "invalid_range"),
        ({"period": "custom", "ends_on": "2026-02-01", "rollover": "both"},
         "rollover_needs_months"),
        ({"ends_on": "2025-12-01"}, "invalid_range"),
    ],
)  # fmt: skip
def test_bad_budgets_are_422_and_write_nothing(world, food, body, code):
    base = {"category": food.pk, "amount": "100.00", "starts_on": "2026-01-01"}
    response = client_for(world.member).post(budgets_url(world), base | body, format="json")
    assert_error(response, 422, code)
    assert not Budget.objects.exists()


def test_a_category_of_another_organisation_is_refused(world):
    theirs = CategoryFactory(organization=world.other_org)
    body = {"category": theirs.pk, "amount": "1.00", "starts_on": "2026-01-01"}
    response = client_for(world.member).post(budgets_url(world), body, format="json")
    assert_error(response, 422, "invalid_reference")


def test_amounts_are_strings_not_numbers(world, food):
    body = {"category": food.pk, "amount": 100, "starts_on": "2026-01-01"}
    assert_error(client_for(world.member).post(budgets_url(world), body, format="json"), 400)


def test_a_viewer_cannot_create_and_an_outsider_sees_nothing(world, ctx, food):
    body = {"category": food.pk, "amount": "1.00", "starts_on": "2026-01-01"}
    assert_error(client_for(world.viewer).post(budgets_url(world), body, format="json"), 403)
    assert_error(client_for(None).get(budgets_url(world)), 401)
    budget = budget_create(ctx=ctx, category=food.pk, amount=Decimal(10),
                           starts_on=date(2026, 1, 1))  # fmt: skip
    for path in ("", "progress/"):
        assert_other_org_is_404(world.outsider, "get", f"{budgets_url(world)}{budget.pk}/{path}")


def test_patch_with_a_stale_etag_is_412_and_delete_removes(world, ctx, food):
    budget = budget_create(ctx=ctx, category=food.pk, amount=Decimal(10),
                           starts_on=date(2026, 1, 1))  # fmt: skip
    client = client_for(world.member)
    url = f"{budgets_url(world)}{budget.pk}/"
    etag = client.get(url)["ETag"]
    changed = client.patch(url, {"amount": "20.00"}, format="json", HTTP_IF_MATCH=etag)
    assert changed.json()["amount"] == "20.00"
    stale = client.patch(url, {"amount": "30.00"}, format="json", HTTP_IF_MATCH=etag)
    assert_error(stale, 412, "version_conflict")
    assert client.delete(url).status_code == 204
    assert_error(client.get(url), 404)


def test_wrong_method_is_405(world, ctx, food):
    budget = budget_create(ctx=ctx, category=food.pk, amount=Decimal(10),
                           starts_on=date(2026, 1, 1))  # fmt: skip
    response = client_for(world.member).post(f"{budgets_url(world)}{budget.pk}/progress/")
    assert_error(response, 405)


def test_deleting_a_budgeted_category_deletes_its_budget(world, ctx, food):
    budget_create(ctx=ctx, category=food.pk, amount=Decimal(10), starts_on=date(2026, 1, 1))
    response = client_for(world.admin).delete(
        f"/api/v1/orgs/{world.org.slug}/categories/{food.pk}/"
    )
    assert response.status_code == 204, response.content
    assert not Budget.objects.exists()
