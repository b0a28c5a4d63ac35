"""The reports page in one currency: the switch, converted figures, every currency as booked,
amounts no rate converts, and the net-worth chart."""

from datetime import date
from decimal import Decimal

from kore.core.testing import OrgWorld
from kore.fx.services import RateInput, exchange_rate_set
from kore.ledger.services.accounts import account_create
from kore.ledger.services.categories import category_create
from kore.ledger.services.transactions import transaction_create

from .helpers import browser, owner_ctx, page

RANGE = {"date_from": "2026-03-01", "date_to": "2026-03-31"}


def _books(world: OrgWorld) -> None:
    ctx = owner_ctx(world)
    world.org.default_currency = "EUR"
    world.org.save()
    eur = account_create(ctx=ctx, name="Current", currency="EUR")
    usd = account_create(ctx=ctx, name="Travel card", currency="USD")
    gbp = account_create(ctx=ctx, name="London", currency="GBP")
    hotel = category_create(ctx=ctx, name="Hotel")
    rate = RateInput("EUR", "USD", date(2026, 3, 1), Decimal("1.25"))
    exchange_rate_set(organization=world.org, item=rate)
    for account, amount in ((eur, "-20.00"), (usd, "-250.00"), (gbp, "-9.99")):
        transaction_create(
            ctx=ctx, account=account.pk, occurred_on="2026-03-05", amount=Decimal(amount),
            category=hotel.pk,
        )  # fmt: skip


def test_a_usd_hotel_bill_counts_in_the_eur_report(world: OrgWorld) -> None:
    _books(world)
    response = browser(world.viewer).get(page(world, "reports/"), RANGE)
    html = response.content.decode()
    assert response.status_code == 200
    # 20.00 EUR + 250.00 USD / 1.25 = 220.00 EUR; the pounds have no rate
    assert "Spending by category (EUR)" in html
    assert "220.00" in html
    assert "Not converted into EUR" in html
    assert "9.99" in html
    for code in ("EUR", "USD", "GBP"):  # every currency as booked
        assert f"<td>{code}</td>" in html
    assert 'aria-labelledby="worth-t"' in html  # the net-worth chart


def test_the_currency_switch_reports_in_dollars(world: OrgWorld) -> None:
    _books(world)
    response = browser(world.viewer).get(page(world, "reports/"), RANGE | {"currency": "USD"})
    html = response.content.decode()
    assert "Spending by category (USD)" in html
    assert "275.00" in html  # 20.00 EUR * 1.25 + 250.00 USD
    assert '<option value="USD" selected>USD</option>' in html


def test_the_spending_csv_is_in_the_chosen_currency(world: OrgWorld) -> None:
    _books(world)
    params = RANGE | {"currency": "USD", "csv": "spending"}
    response = browser(world.viewer).get(page(world, "reports/"), params)
    assert response.content.decode().splitlines() == ["category,currency,spent", "Hotel,USD,275.00"]


def test_a_currency_no_account_holds_can_be_chosen(world: OrgWorld) -> None:
    _books(world)
    rate = RateInput("EUR", "JPY", date(2026, 3, 1), Decimal("160"))
    exchange_rate_set(organization=world.org, item=rate)
    response = browser(world.viewer).get(page(world, "reports/"), RANGE | {"currency": "JPY"})
    html = response.content.decode()
    assert "Spending by category (JPY)" in html
    assert "35,200" in html  # 20.00 EUR * 160 + 250.00 USD / 1.25 * 160
    assert '<option value="JPY" selected>JPY</option>' in html


def test_an_admin_sets_the_reporting_currency_and_rate_age_in_settings(world: OrgWorld) -> None:
    body = {"name": world.org.name, "time_zone": "UTC", "default_currency": "EUR",
            "reporting_currency": "usd", "max_rate_age_days": "3"}  # fmt: skip
    response = browser(world.admin).post(page(world, "settings/"), body)
    assert response.status_code == 302
    world.org.refresh_from_db()
    assert (world.org.reporting_currency, world.org.max_rate_age_days) == ("USD", 3)
    bad = browser(world.admin).post(page(world, "settings/"), body | {"reporting_currency": "ZZZ"})
    assert bad.status_code == 422
    world.org.refresh_from_db()
    assert world.org.reporting_currency == "USD"
