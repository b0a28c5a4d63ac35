import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.exports import services
from kore.ledger import transaction_list
from kore.ledger.tests.factories import AccountFactory

from .conftest import record

pytestmark = pytest.mark.django_db


def url(world, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/v1/orgs/{world.org.slug}/transactions/export/?{query}"


def read_csv(response) -> list[list[str]]:
    assert response.streaming is True
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_csv_columns_content_and_order(world, account, category):
    first, second = record(world, account, [
        {"occurred_on": date(2025, 3, 1), "amount": Decimal("-12.5"), "description": "Café ☕",
         "counterparty": "Bäckerei", "category": category.pk, "tags": ["b", "a"],
         "reference": "R-1", "notes": "line1\nline2", "status": "cleared"},
        {"occurred_on": date(2025, 4, 1), "amount": Decimal("1000"), "description": "Salary"},
    ])  # fmt: skip
    response = client_for(world.viewer).get(url(world, format="csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert world.org.slug in disposition
    assert timezone.localdate().isoformat() in disposition
    header, *rows = read_csv(response)
    assert header == list(services.COLUMNS)
    assert [r[0] for r in rows] == [str(second), str(first)]  # newest first, like the list
    assert rows[1] == [
        str(first), "2025-03-01", "Main", "-12.50", "EUR", "Café ☕", "Bäckerei", "Food",
        "a;b", "R-1", "line1\nline2", "cleared", "", "", "", "",
    ]  # fmt: skip
    assert rows[0][3] == "1000.00"
    ascending = read_csv(client_for(world.viewer).get(url(world, format="csv", ordering="amount")))
    assert [r[0] for r in ascending[1:]] == [str(first), str(second)]


def test_currency_decimals(world):
    yen = AccountFactory(organization=world.org, currency="JPY")
    dinar = AccountFactory(organization=world.org, currency="BHD")
    record(world, yen, [{"amount": Decimal("1500")}])
    record(world, dinar, [{"amount": Decimal("-0.5")}])
    rows = read_csv(client_for(world.owner).get(url(world, ordering="amount")))[1:]
    assert [(r[3], r[4]) for r in rows] == [("-0.500", "BHD"), ("1500", "JPY")]


def test_filters_applied(world, account, category):
    other = AccountFactory(organization=world.org)
    keep = record(world, account, [
        {"occurred_on": date(2025, 2, 10), "description": "grocery", "category": category.pk,
         "tags": ["x"]},
    ])  # fmt: skip
    record(world, account, [{"occurred_on": date(2025, 1, 1), "description": "grocery"}])
    record(world, other, [{"occurred_on": date(2025, 2, 10), "description": "grocery"}])
    record(world, account, [{"occurred_on": date(2025, 2, 11), "description": "rent"}])
    params = {"date_from": "2025-02-01", "account": account.pk, "q": "groc",
              "category": category.pk, "tag": "x"}  # fmt: skip
    rows = read_csv(client_for(world.member).get(url(world, **params)))[1:]
    assert [int(r[0]) for r in rows] == keep


def test_deleted_and_other_org_rows_are_not_exported(world, account):
    other_account = AccountFactory(organization=world.other_org)
    from kore.ledger.models import Transaction

    Transaction.objects.create(
        organization=world.other_org, account=other_account, occurred_on=date(2025, 1, 1),
        amount=Decimal("5"), currency="EUR", description="secret",
    )  # fmt: skip
    record(world, account, [{"description": "mine"}])
    rows = read_csv(client_for(world.owner).get(url(world)))[1:]
    assert [r[5] for r in rows] == ["mine"]


def test_formula_cells_in_export_but_amounts_stay_numbers(world, account):
    record(world, account, [
        {"amount": Decimal("-3.00"), "description": "=cmd|' /C calc'!A0",
         "counterparty": "+49 30 1234", "reference": "-ref", "notes": "@note"},
    ])  # fmt: skip
    record(world, account, [{"tags": ["=evil"]}])
    rows = read_csv(client_for(world.owner).get(url(world, ordering="amount")))[1:]
    row = rows[0]
    assert row[3] == "-3.00"  # a negative amount is a number, never quoted
    assert row[5] == "'=cmd|' /C calc'!A0"
    assert row[6] == "'+49 30 1234"
    assert row[9] == "'-ref"
    assert row[10] == "'@note"
    assert rows[1][8] == "'=evil"


def test_streams_in_keyset_chunks(world, account, monkeypatch, django_assert_max_num_queries):
    ids = record(world, account, [
        {"occurred_on": date(2025, 1, 1 + i % 28), "amount": Decimal(i)} for i in range(53)
    ])  # fmt: skip
    monkeypatch.setattr(services, "CHUNK_ROWS", 5)
    response = client_for(world.owner).get(url(world))
    assert response.streaming is True
    chunks = list(response.streaming_content)
    assert len(chunks) == 1 + 11  # the header at once, then 53 rows 5 at a time
    assert all(chunk.count(b"\r\n") <= 5 for chunk in chunks[1:])
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))[1:]
    assert sorted(int(r[0]) for r in rows) == sorted(ids)  # each row once across chunk edges
    keys = [(r[1], int(r[0])) for r in rows]
    assert keys == sorted(keys, reverse=True)


def test_stream_starts_before_any_row_is_read(world, account, monkeypatch):
    record(world, account, [{}])
    calls = []
    real = transaction_list.transaction_rows
    monkeypatch.setattr(
        transaction_list, "transaction_rows", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    response = client_for(world.owner).get(url(world))
    stream = iter(response.streaming_content)
    assert next(stream).startswith(b"\xef\xbb\xbfid,date,")
    assert calls == []  # the header left before the first query
    list(stream)
    assert calls == [1]


def test_other_org_is_404(world):
    assert_other_org_is_404(world.outsider, "get", url(world, format="csv"))


def test_unauthenticated_is_401(world):
    assert_error(client_for(None).get(url(world)), 401, "not_authenticated")


def test_bad_format_is_refused(world):
    error = assert_error(client_for(world.owner).get(url(world, format="pdf")), 422)
    assert "format" in error["fields"]


def test_bad_filter_is_refused(world):
    response = client_for(world.owner).get(url(world, date_from="yesterday"))
    assert response.status_code in (400, 422)
    assert "date_from" in response.json()["error"]["fields"]


def test_split_lines_transfers_and_rates_are_exported_and_read_back(world, account, category):
    """Every split line (category, amount, memo), both legs of a transfer with the other leg's
    account, and the transfer's rate come out; reading the file back rebuilds them exactly."""
    from kore.exports.tests.conftest import owner_ctx
    from kore.ledger.models import Split, Transaction, Transfer
    from kore.ledger.services.transfers import transfer_create

    dollars = AccountFactory(organization=world.org, currency="USD", name="Dollars")
    (split_id,) = record(world, account, [{
        "amount": Decimal("-25.40"), "description": "shop",
        "splits": [
            {"amount": Decimal("-20.00"), "category": category.pk, "memo": "lamp, \"big\""},
            {"amount": Decimal("-5.40"), "memo": ""},
        ],
    }])  # fmt: skip
    transfer = transfer_create(
        ctx=owner_ctx(world), from_account=account.pk, to_account=dollars.pk,
        amount=Decimal("100.00"), to_amount=Decimal("108.37"), occurred_on=date(2025, 1, 2),
    )  # fmt: skip
    rows = read_csv(client_for(world.viewer).get(url(world)))
    header, body = rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert header[-4:] == ["splits", "transfer", "transfer_account", "rate"]
    by_id = {int(r["id"]): r for r in body}

    split_row = by_id[split_id]
    import json

    assert json.loads(split_row["splits"]) == [
        {"category": "Food", "amount": "-20.00", "memo": 'lamp, "big"'},
        {"category": "", "amount": "-5.40", "memo": ""},
    ]
    assert [
        (s.category.name if s.category else "", str(s.amount.quantize(Decimal("0.01"))), s.memo)
        for s in Split.objects.filter(transaction_id=split_id).order_by("position")
    ] == [(s["category"], s["amount"], s["memo"]) for s in json.loads(split_row["splits"])]
    assert (split_row["transfer"], split_row["rate"]) == ("", "")

    legs = {r["account"]: r for r in body if r["transfer"]}
    assert set(legs) == {"Main", "Dollars"}
    assert {r["transfer"] for r in legs.values()} == {str(transfer.pk)}
    assert legs["Main"]["transfer_account"] == "Dollars"
    assert legs["Dollars"]["transfer_account"] == "Main"
    rate = Decimal(legs["Main"]["rate"])
    assert rate == Transfer.objects.get(pk=transfer.pk).rate.normalize()
    assert (-Decimal(legs["Main"]["amount"]) * rate).quantize(Decimal("0.01")) == Decimal(
        legs["Dollars"]["amount"]
    )
    assert Transaction.objects.filter(transfer=transfer).count() == 2
