"""The list's filters as a finance person uses them: categories through split lines (the list adds
up to the categories report), uncategorised rows, amounts, attachments, counterparty, currency."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from kore.core.money import format_amount
from kore.core.testing import client_for
from kore.ledger.models import Attachment, Category, Transaction
from kore.ledger.tests.factories import AccountFactory, CategoryFactory

from .factories_tx import TransactionFactory, tx_base

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(world):
    return client_for(world.member)


def _walk(api, world, **params):
    rows, cursor = [], None
    while True:
        query = {**params, "limit": 3, **({"cursor": cursor} if cursor else {})}
        response = api.get(tx_base(world), query)
        assert response.status_code == 200, response.json()
        body = response.json()
        rows += body["results"]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


def _ids(api, world, **params):
    return {row["id"] for row in _walk(api, world, **params)}


def _create(api, world, **body):
    response = api.post(tx_base(world), body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def books(world, api):
    """Two currencies, a three-level tree, whole rows and split rows (a split line's category
    differs from anything on its row), an uncategorised row and an uncategorised split line."""
    eur = AccountFactory(organization=world.org, currency="EUR")
    usd = AccountFactory(organization=world.org, currency="USD")
    food = CategoryFactory(organization=world.org, name="Food")
    lunch = CategoryFactory(organization=world.org, name="Lunch", parent=food, depth=2)
    cafe = CategoryFactory(organization=world.org, name="Cafe", parent=lunch, depth=3)
    home = CategoryFactory(organization=world.org, name="Home")
    pay = CategoryFactory(organization=world.org, name="Salary", kind=Category.Kind.INCOME)
    day = iter(range(1, 28))

    def add(account, amount, **extra):
        return _create(
            api, world, account=account.pk, amount=amount,
            occurred_on=date(2026, 3, next(day)).isoformat(), **extra,
        )  # fmt: skip

    made = {
        "groceries": add(eur, "-40.00", category=food.pk, counterparty="Market",
                         tags=["weekly", "food"]),
        "coffee": add(eur, "-3.20", category=cafe.pk, counterparty="ACME Café"),
        "split": add(eur, "-25.40", category=home.pk, splits=[
            {"amount": "-20.00", "category": home.pk, "memo": "lamp"},
            {"amount": "-5.40", "category": lunch.pk, "memo": "sandwich"},
        ]),
        "half known": add(usd, "-30.00", splits=[
            {"amount": "-10.00", "category": cafe.pk},
            {"amount": "-20.00", "memo": "no idea"},
        ]),
        "salary": add(eur, "2500.00", category=pay.pk, counterparty="Employer"),
        "stray": add(usd, "-7.77", counterparty="acme café"),
        "rent": add(eur, "-900.00", category=home.pk, reference="R-3"),
    }  # fmt: skip
    return {"ids": {k: v["id"] for k, v in made.items()}, "categories": [food, lunch, cafe, home,
            pay], "food": food, "lunch": lunch, "home": home}  # fmt: skip


def test_category_matches_the_row_or_any_split_line_and_descendants(world, api, books):
    ids = books["ids"]
    assert _ids(api, world, category=books["food"].pk) == {
        ids["groceries"],
        ids["coffee"],
        ids["split"],
        ids["half known"],
    }
    assert _ids(api, world, category=books["lunch"].pk) == {
        ids["coffee"],
        ids["split"],
        ids["half known"],
    }
    assert _ids(api, world, category=books["home"].pk) == {ids["split"], ids["rent"]}


def _report(api, world):
    response = api.get(
        f"/api/v1/orgs/{world.org.slug}/reports/categories/",
        {"date_from": "2026-01-01", "date_to": "2026-12-31"},
    )
    assert response.status_code == 200, response.json()
    return response.json()["rows"]


def test_the_list_adds_up_to_the_categories_report_for_every_category(world, api, books):
    """For each category, what the list shows under it (the row's amount, or the amounts of its
    split lines under that category) sums to the report's total for it and its descendants."""
    categories = books["categories"]
    below: dict[int, set[int]] = {c.pk: {c.pk} for c in categories}
    for c in categories:  # three levels: a parent and a grandparent at most
        parent = c.parent
        while parent is not None:
            below[parent.pk].add(c.pk)
            parent = parent.parent
    reported: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for row in _report(api, world):
        for top, members in below.items():
            if row["category"] in members:
                reported[(top, row["currency"])] += Decimal(row["total"])
    listed: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for c in categories:
        for row in _walk(api, world, category=c.pk):
            if row["splits"]:
                part = sum(
                    (Decimal(s["amount"]) for s in row["splits"] if s["category"] in below[c.pk]),
                    Decimal(0),
                )
            else:
                part = Decimal(row["amount"])
            listed[(c.pk, row["currency"])] += part
    assert listed == reported
    assert listed[(books["lunch"].pk, "EUR")] == Decimal("-8.60")  # a coffee and a split line
    assert reported[(books["home"].pk, "EUR")] == Decimal("-920.00")


def test_uncategorised_is_a_row_or_split_line_without_category(world, api, books):
    ids = books["ids"]
    assert _ids(api, world, uncategorized="true") == {ids["half known"], ids["stray"]}
    assert _ids(api, world, uncategorized="false") == set(ids.values()) - {
        ids["half known"],
        ids["stray"],
    }
    listed = sum(
        (Decimal(s["amount"]) for r in _walk(api, world, uncategorized="true")
         for s in (r["splits"] or [r]) if s["category"] is None),
        Decimal(0),
    )  # fmt: skip
    reported = sum(
        (Decimal(r["total"]) for r in _report(api, world) if r["category"] is None), Decimal(0)
    )
    assert listed == reported == Decimal("-27.77")


def test_amount_range_counterparty_and_currency(world, api, books):
    ids = books["ids"]
    assert _ids(api, world, amount_min="-30", amount_max="-3.20") == {
        ids["coffee"],
        ids["split"],
        ids["half known"],
        ids["stray"],
    }
    assert _ids(api, world, counterparty="acme CAFÉ") == {ids["coffee"], ids["stray"]}
    assert _ids(api, world, counterparty="ACME") == set()  # exact, not "contains"
    assert _ids(api, world, currency="USD") == {ids["half known"], ids["stray"]}
    assert _ids(api, world, currency="USD", counterparty="Acme Café") == {ids["stray"]}


def test_has_attachments(world, api, books):
    ids = books["ids"]
    rent = Transaction.objects.get(pk=ids["rent"])
    Attachment.objects.create(
        organization=world.org, transaction=rent, path="t/rent.pdf", original_name="rent.pdf",
        content_type="application/pdf", size=10, sha256="0" * 64,
    )  # fmt: skip
    assert _ids(api, world, has_attachments="true") == {ids["rent"]}
    assert _ids(api, world, has_attachments="false") == set(ids.values()) - {ids["rent"]}


def test_the_web_page_reads_the_same_filters(world, books):
    from django.test import Client

    browser = Client()
    browser.force_login(world.member)
    page = f"/o/{world.org.slug}/transactions/"
    response = browser.get(page, {"uncategorized": "true", "q": "", "account": ""})
    assert response.status_code == 200
    body = response.content.decode()
    assert "no idea" not in body  # memos are not shown, the rows are
    assert body.count('class="tx-row"') == 2
    response = browser.get(page, {"date_from": "2026-03-09", "date_to": "2026-03-01"})
    assert response.status_code == 400
    assert "date_to is before date_from" in response.content.decode()
    response = browser.get(page, {"uncategorised": "true"})
    assert response.status_code == 400
    assert "uncategorised" in response.content.decode()


def test_running_balance_on_one_account_walks_with_the_cursor(world, api):
    account = AccountFactory(
        organization=world.org, currency="EUR", opening_balance=Decimal("100.00")
    )
    other = AccountFactory(organization=world.org, currency="EUR")
    amounts = ["-10.00", "25.50", "-0.50", "-100.00", "7.00"]
    for day, amount in enumerate(amounts, start=1):
        TransactionFactory(account=account, occurred_on=date(2026, 4, day), amount=amount)
        TransactionFactory(account=other, occurred_on=date(2026, 4, day), amount="1000")
    expected, total = {}, Decimal("100.00")
    for day, amount in enumerate(amounts, start=1):
        total += Decimal(amount)
        expected[date(2026, 4, day).isoformat()] = format_amount(total, "EUR")
    for ordering in ("-occurred_on", "occurred_on", "amount"):
        rows = _walk(api, world, account=account.pk, running_balance="true", ordering=ordering)
        assert {r["occurred_on"]: r["running_balance"] for r in rows} == expected
    # Other filters leave rows out, never the balance's arithmetic.
    rows = _walk(api, world, account=account.pk, running_balance="true", amount_min="0")
    assert [r["running_balance"] for r in rows] == ["22.00", "115.50"]
    plain = _walk(api, world, account=account.pk)
    assert all("running_balance" not in r for r in plain)


def test_accounts_carry_balance_and_cleared_balance_in_constant_queries(world, api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    base = f"/api/v1/orgs/{world.org.slug}/accounts/"
    eur = AccountFactory(organization=world.org, currency="EUR", opening_balance="100.00")
    jpy = AccountFactory(organization=world.org, currency="JPY")
    for amount, status in [("-10.50", "cleared"), ("-4.25", "pending"), ("20.00", "cleared")]:
        TransactionFactory(account=eur, amount=amount, status=status)
    gone = TransactionFactory(account=eur, amount="-1000.00", status="cleared")
    gone.deleted_at = gone.created_at
    gone.save()
    TransactionFactory(account=jpy, amount="-1200", status="pending")
    body = {a["id"]: a for a in api.get(base).json()["results"]}
    assert (body[eur.pk]["balance"], body[eur.pk]["cleared_balance"]) == ("105.25", "109.50")
    assert (body[jpy.pk]["balance"], body[jpy.pk]["cleared_balance"]) == ("-1200", "0")
    detail = api.get(f"{base}{eur.pk}/").json()
    assert (detail["balance"], detail["cleared_balance"]) == ("105.25", "109.50")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert api.get(base).status_code == 200
        return len(captured)

    few = queries()
    for n in range(5):
        account = AccountFactory(organization=world.org, currency="EUR")
        TransactionFactory(account=account, amount=f"-{n + 1}.00")
    assert queries() == few  # one query for every account, not one per account


def test_the_web_rows_show_what_the_api_rows_say(world, api, books):
    """The page's HTML rows (``web/rows.py``) are held to the list's row shape: same rows, same
    order, and each row's amount, currency, status, tags and split count as the API gives them."""
    import re

    from django.test import Client

    browser = Client()
    browser.force_login(world.member)
    html = browser.get(f"/o/{world.org.slug}/transactions/").content.decode()
    shown = re.findall(
        r'<tr class="tx-row" id="tx-(\d+)".*?<td class="c-cat"[^>]*>'
        r'(?:<span class="split">Split \((\d+)\)</span>|'
        r'[^<]*)</td><td class="hide-s">(.*?)</td><td class="hide-s"><span class="status '
        r's-(\w+)">.*?<td class="num [^"]*">([^<]*) (\w{3})</td>',
        html,
    )
    rows = _walk(api, world)
    assert [int(s[0]) for s in shown] == [r["id"] for r in rows]
    for (_, splits, tags, status, amount, currency), row in zip(shown, rows, strict=True):
        assert int(splits or 0) == len(row["splits"])
        assert re.findall(r'<span class="tag">([^<]*)</span>', tags) == row["tags"]
        assert (status, currency) == (row["status"], row["currency"])
        assert Decimal(amount.replace(",", "")) == Decimal(row["amount"])
