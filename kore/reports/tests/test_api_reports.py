"""Reports: balances, category totals and cash flow — per currency, cached, never stale."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Account, Category


def _base(world):
    return f"/api/v1/orgs/{world.org.slug}"


def _tx(api, world, account, amount, day="2026-01-15", **extra):
    body = {"account": account.pk, "occurred_on": day, "amount": amount, "status": "cleared"}
    response = api.post(f"{_base(world)}/transactions/", body | extra, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def books(world):
    eur = Account.objects.create(
        organization=world.org, name="EUR bank", currency="EUR", opening_balance=Decimal("100")
    )
    jpy = Account.objects.create(organization=world.org, name="JPY cash", currency="JPY")
    food = Category.objects.create(organization=world.org, name="Food", kind="expense")
    return eur, jpy, food


def test_balances_per_account_and_per_currency_never_mixed(world, books):
    eur, jpy, _ = books
    api = client_for(world.member)
    _tx(api, world, eur, "-10.50", "2026-01-10")
    _tx(api, world, eur, "5.25", "2026-02-10")
    _tx(api, world, jpy, "1200", "2026-01-10")
    body = api.get(f"{_base(world)}/reports/balances/", {"as_of": "2026-01-31"}).json()
    assert {a["name"]: a["balance"] for a in body["accounts"]} == {
        "EUR bank": "89.50",
        "JPY cash": "1200",
    }
    assert body["totals"] == [
        {"currency": "EUR", "balance": "89.50"},
        {"currency": "JPY", "balance": "1200"},
    ]


def test_report_is_fresh_right_after_a_write(world, books):
    eur, _, _ = books
    api = client_for(world.member)
    url = f"{_base(world)}/reports/balances/"
    before = api.get(url, {"as_of": "2026-12-31"}).json()
    _tx(api, world, eur, "-1.00")
    after = api.get(url, {"as_of": "2026-12-31"}).json()
    assert before["accounts"][0]["balance"] == "100.00"
    assert after["accounts"][0]["balance"] == "99.00"


def test_category_totals_by_month_count_split_lines_under_their_categories(world, books):
    eur, _, food = books
    travel = Category.objects.create(organization=world.org, name="Travel", kind="expense")
    api = client_for(world.member)
    _tx(api, world, eur, "-30.00", "2026-01-05", category=food.pk)
    _tx(
        api, world, eur, "-50.00", "2026-01-20",
        splits=[{"category": food.pk, "amount": "-20.00"},
                {"category": travel.pk, "amount": "-30.00"}],
    )  # fmt: skip
    _tx(api, world, eur, "-7.00", "2026-02-01", category=food.pk)
    rows = api.get(
        f"{_base(world)}/reports/categories/", {"date_from": "2026-01-01", "date_to": "2026-02-28"}
    ).json()["rows"]
    got = {(r["month"], r["category"]): r["total"] for r in rows}
    assert got == {
        ("2026-01", food.pk): "-50.00",
        ("2026-01", travel.pk): "-30.00",
        ("2026-02", food.pk): "-7.00",
    }


def test_cash_flow_per_month_excludes_transfers_by_default(world, books):
    eur, _, _ = books
    savings = Account.objects.create(organization=world.org, name="Savings", currency="EUR")
    api = client_for(world.member)
    _tx(api, world, eur, "200.00", "2026-03-02")
    _tx(api, world, eur, "-75.10", "2026-03-03")
    api.post(
        f"{_base(world)}/transfers/",
        {"from_account": eur.pk, "to_account": savings.pk, "amount": "50.00",
         "occurred_on": "2026-03-04"},
        format="json",
    )  # fmt: skip
    url = f"{_base(world)}/reports/cashflow/"
    params = {"date_from": "2026-03-01", "date_to": "2026-03-31", "period": "month"}
    rows = api.get(url, params).json()["rows"]
    assert rows == [
        {"period": "2026-03-01", "currency": "EUR", "inflow": "200.00", "outflow": "-75.10",
         "net": "124.90"}
    ]  # fmt: skip
    with_transfers = api.get(url, params | {"include_transfers": "true"}).json()["rows"]
    assert with_transfers[0]["inflow"] == "250.00"


def test_cash_flow_weeks_start_on_monday(world, books):
    eur, _, _ = books
    api = client_for(world.member)
    _tx(api, world, eur, "1.00", "2026-03-04")  # a Wednesday
    rows = api.get(
        f"{_base(world)}/reports/cashflow/",
        {"date_from": "2026-03-01", "date_to": "2026-03-31", "period": "week"},
    ).json()["rows"]
    assert [r["period"] for r in rows] == ["2026-03-02"]


def test_reports_work_with_redis_down(world, books, settings):
    eur, _, _ = books
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.2},
        }
    }
    api = client_for(world.member)
    _tx(api, world, eur, "-1.00")
    response = api.get(f"{_base(world)}/reports/balances/", {"as_of": "2026-12-31"})
    assert response.status_code == 200
    assert response.json()["accounts"][0]["balance"] == "99.00"


def test_inverted_range_is_422(world):
    response = client_for(world.member).get(
        f"{_base(world)}/reports/cashflow/", {"date_from": "2026-02-01", "date_to": "2026-01-01"}
    )
    assert_error(response, 422, "invalid_range")


def test_bad_period_is_rejected(world):
    response = client_for(world.member).get(f"{_base(world)}/reports/cashflow/", {"period": "year"})
    assert response.status_code in (400, 422)


@pytest.mark.parametrize("name", ["balances", "categories", "cashflow"])
def test_other_organisation_is_404(world, name):
    assert_other_org_is_404(world.outsider, "get", f"{_base(world)}/reports/{name}/")


@pytest.mark.parametrize("name", ["balances", "categories", "cashflow"])
def test_viewer_can_read_reports(world, name):
    assert client_for(world.viewer).get(f"{_base(world)}/reports/{name}/").status_code == 200


@pytest.mark.parametrize("name", ["balances", "categories", "cashflow"])
def test_post_is_405(world, name):
    assert_error(client_for(world.member).post(f"{_base(world)}/reports/{name}/", {}), 405)


def test_unauthenticated_is_401(world):
    assert_error(client_for(None).get(f"{_base(world)}/reports/balances/"), 401)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(
        st.decimals(min_value=-10_000, max_value=10_000, places=2, allow_nan=False),
        min_size=1,
        max_size=12,
    ),
    days=st.lists(st.integers(min_value=1, max_value=28), min_size=12, max_size=12),
)
def test_report_totals_equal_the_sum_of_their_rows(world, amounts, days):
    from kore.ledger.models import Transaction

    Transaction.objects.filter(organization=world.org).delete()
    account, _ = Account.objects.get_or_create(
        organization=world.org, name="Prop", defaults={"currency": "EUR"}
    )
    api = client_for(world.member)
    for amount, day in zip(amounts, days, strict=False):
        _tx(api, world, account, f"{amount:.2f}", date(2026, 5, day).isoformat())
    flow = api.get(
        f"{_base(world)}/reports/cashflow/",
        {"date_from": "2026-05-01", "date_to": "2026-05-31", "period": "day"},
    ).json()["rows"]
    assert sum(Decimal(r["net"]) for r in flow) == sum(amounts)
    assert all(Decimal(r["inflow"]) + Decimal(r["outflow"]) == Decimal(r["net"]) for r in flow)
    balance = api.get(f"{_base(world)}/reports/balances/", {"as_of": "2026-05-31"}).json()
    prop = next(a for a in balance["accounts"] if a["name"] == "Prop")
    assert Decimal(prop["balance"]) == sum(amounts)
