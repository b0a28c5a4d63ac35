"""An organisation's overview, the categories page's amounts and the cash-flow chart's labels."""

import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kore.core.testing import OrgWorld
from kore.imports.services import import_job_create
from kore.ledger.services.accounts import account_create
from kore.ledger.services.categories import category_create
from kore.ledger.services.statements import statement_create, statement_reconcile
from kore.ledger.services.transactions import transaction_create
from kore.ledger.services.transfers import transfer_create
from kore.orgs.tests.factories import MembershipFactory, OrganizationFactory
from kore.web.overview import month_start

from .helpers import browser, owner_ctx, page

pytestmark = pytest.mark.django_db
D = Decimal


def _text(body: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def _books(world: OrgWorld, settings: Any, tmp_path: Any, accounts: int = 2) -> dict[str, Any]:
    """Accounts, a category tree, spending this month and last, a split, a transfer, an import."""
    settings.MEDIA_ROOT = tmp_path
    ctx = owner_ctx(world)
    today = timezone.localdate()
    this, last = month_start(today), month_start(today, 1)
    main = account_create(ctx=ctx, name="Main", currency="EUR", opening_balance=D("100.00"))
    more = [account_create(ctx=ctx, name=f"Pocket {i}", currency="EUR") for i in range(accounts)]
    food = category_create(ctx=ctx, name="Food")
    groceries = category_create(ctx=ctx, name="Groceries", parent=food.pk)
    home = category_create(ctx=ctx, name="Home")

    def spend(day: Any, amount: str, **extra: Any) -> Any:
        return transaction_create(ctx=ctx, account=main.pk, occurred_on=day, amount=D(amount),
                                  description="x", **extra)  # fmt: skip

    spend(this, "-40.00", category=groceries.pk, status="cleared")
    halves = [{"category": food.pk, "amount": D("-10.00"), "memo": ""},
              {"category": home.pk, "amount": D("-20.00"), "memo": ""}]  # fmt: skip
    spend(this, "-30.00", splits=halves)
    spend(last, "-25.00", category=food.pk, status="cleared")
    spend(this, "-5.00")  # uncategorised
    transfer_create(ctx=ctx, from_account=main.pk, to_account=more[0].pk, amount=D("50.00"),
                    occurred_on=this)  # fmt: skip
    statement = statement_create(
        ctx=ctx, account=main.pk, end_date=last, closing_balance=D("75.00")
    )
    statement_reconcile(ctx=ctx, statement_id=statement.pk)
    statement_create(ctx=ctx, account=main.pk, end_date=today, closing_balance=D("0.00"))
    import_job_create(
        ctx=ctx, file=SimpleUploadedFile("march.csv", b"date,amount\n2026-03-01,-1.00\n"),
        account=main.pk, format="csv", enqueue=False,
    )  # fmt: skip
    return {"main": main, "food": food, "groceries": groceries, "home": home, "last": last}


def test_overview_shows_balances_spending_imports_and_what_needs_a_category(
    world: OrgWorld, settings: Any, tmp_path: Any
) -> None:
    data = _books(world, settings, tmp_path)
    body = browser(world.member).get(page(world)).content.decode()
    text = _text(body)
    # Main: 100 - 40 - 30 - 25 - 5 - 50 = -50; cleared: 100 - 40 - 25 (reconciled) = 35.
    assert "Main -50.00 EUR 35.00" in text
    assert f"Reconciled through {data['last']:%d/%m/%Y}" not in text  # a column, not a sentence
    assert data["last"].strftime("%d/%m/%Y") in text
    assert "1 open statement" in text
    # Food rolls up Groceries and its split line; Home has the other split line; the
    # transfer is no spending.
    assert "Food 50.00 25.00" in text
    assert "Home 20.00 0.00" in text
    assert "Uncategorised 5.00 0.00" in text
    assert "march.csv" in text
    assert "1 transaction without a category" in text
    assert "?uncategorized=true" in body


def test_overview_reads_a_fixed_number_of_queries(
    world: OrgWorld, settings: Any, tmp_path: Any
) -> None:
    _books(world, settings, tmp_path, accounts=1)
    client = browser(world.member)
    client.get(page(world))  # the session warmed
    cache.clear()  # the reports computed, not read from the cache
    with CaptureQueriesContext(connection) as few:
        assert client.get(page(world)).status_code == 200
    ctx = owner_ctx(world)
    for i in range(6):
        account = account_create(ctx=ctx, name=f"More {i}", currency="EUR")
        category = category_create(ctx=ctx, name=f"Cat {i}")
        transaction_create(ctx=ctx, account=account.pk, occurred_on=timezone.localdate(),
                           amount=D("-1.00"), category=category.pk, description="y")  # fmt: skip
    cache.clear()
    with CaptureQueriesContext(connection) as many:
        assert client.get(page(world)).status_code == 200
    assert len(many) == len(few)
    assert len(few) <= 14, [q["sql"][:120] for q in few.captured_queries]


def test_home_goes_to_the_overview_or_offers_each_organisation(world: OrgWorld) -> None:
    client = browser(world.member)
    response = client.get("/")
    assert response["Location"] == page(world)
    second = OrganizationFactory()
    MembershipFactory(organization=second, user=world.member)
    body = client.get("/").content.decode()
    assert f'href="/o/{world.org.slug}/"' in body
    assert f'href="/o/{second.slug}/"' in body


def test_categories_page_shows_this_months_amounts(
    world: OrgWorld, settings: Any, tmp_path: Any
) -> None:
    _books(world, settings, tmp_path)
    text = _text(browser(world.member).get(page(world, "categories/")).content.decode())
    assert re.search(r"Food expense -50\.00 EUR", text), text
    assert re.search(r"Groceries expense -40\.00 EUR", text)
    assert re.search(r"Home expense -20\.00 EUR", text)


def test_a_one_month_cash_flow_labels_its_month_once(
    world: OrgWorld, settings: Any, tmp_path: Any
) -> None:
    ctx = owner_ctx(world)
    account = account_create(ctx=ctx, name="Main", currency="EUR")
    transaction_create(ctx=ctx, account=account.pk, occurred_on="2026-03-02",
                       amount=D("1200.00"), description="Pay")  # fmt: skip
    transaction_create(ctx=ctx, account=account.pk, occurred_on="2026-03-05",
                       amount=D("-80.00"), description="Shop")  # fmt: skip
    body = (
        browser(world.member)
        .get(page(world, "reports/"), {"date_from": "2026-03-01", "date_to": "2026-03-31"})
        .content.decode()
    )
    flow = body.split('aria-labelledby="flow-t"')[1].split("</svg>")[0]
    assert flow.count('class="bar in"') == 1
    assert flow.count('class="bar out"') == 1
    assert flow.count('class="lbl">2026-03<') == 1
    assert "2026-03, money in: 1,200.00 EUR" in flow
