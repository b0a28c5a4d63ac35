"""The transactions page: filters, keyset pages, inline edit with ETags, bulk edits, undo."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kore.core.testing import OrgWorld
from kore.ledger.models import Transaction
from kore.ledger.services.accounts import account_create
from kore.ledger.services.transactions import transaction_create_many, transaction_update
from kore.payees.services_rules import rule_create

from .helpers import browser, ledger, owner_ctx, page


@pytest.mark.django_db
def test_list_shows_rows_with_locale_amounts(world: OrgWorld) -> None:
    data = ledger(world)
    transaction_update(ctx=owner_ctx(world), tx_id=data["txs"][0].pk, amount=Decimal("-1234.50"))
    body = browser(world.member).get(page(world, "transactions/")).content.decode()
    bulk_select = body.split('id="bulk-category">')[1].split("</select>")[0]
    assert f'<option value="{data["travel"].pk}">Travel</option>' in bulk_select
    assert "Lunch 2" in body
    assert "-1,234.50" in body
    assert "Food" in body


@pytest.mark.django_db
def test_filters_match_the_api(world: OrgWorld) -> None:
    ledger(world)
    client = browser(world.member)
    body = client.get(page(world, "transactions/"), {"q": "lunch 1"}).content.decode()
    assert "Lunch 1" in body
    assert "Lunch 0" not in body
    body = client.get(page(world, "transactions/"), {"tag": "team"}).content.decode()
    assert "Lunch 0" in body
    assert "Lunch 2" not in body
    body = client.get(page(world, "transactions/"), {"amount_max": "-2"}).content.decode()
    assert "Lunch 1" in body
    assert "Lunch 0" not in body


@pytest.mark.django_db
def test_bad_filter_is_a_400_with_the_field_named(world: OrgWorld) -> None:
    ledger(world)
    response = browser(world.member).get(page(world, "transactions/"), {"date_from": "soon"})
    assert response.status_code == 400
    assert "date_from: A date as YYYY-MM-DD." in response.content.decode()
    response = browser(world.member).get(page(world, "transactions/"), {"cursor": "garbage"})
    assert response.status_code == 400


@pytest.mark.django_db
def test_pages_are_keyset_and_fifty_long(world: OrgWorld) -> None:
    data = ledger(world, count=1)
    rows = [
        {
            "account": data["account"].pk,
            "occurred_on": f"2025-01-{(i % 28) + 1:02d}",
            "amount": Decimal("-1.00"),
            "description": f"Row {i}",
        }
        for i in range(120)
    ]
    transaction_create_many(ctx=owner_ctx(world), rows=rows)
    client = browser(world.member)
    first = client.get(page(world, "transactions/"))
    assert first.content.decode().count('class="tx-row"') == 50
    next_url = first.context["next_url"]
    assert "cursor=" in next_url
    second = client.get(page(world, "transactions/") + next_url, HTTP_HX_REQUEST="true")
    body = second.content.decode()
    assert "<html" not in body  # a fragment appended under the first page
    assert body.count('class="tx-row"') == 50
    first_ids = {r["id"] for r in first.context["rows"]}
    assert not first_ids & {r["id"] for r in second.context["rows"]}


@pytest.mark.django_db
def test_list_queries_do_not_grow_with_rows(world: OrgWorld) -> None:
    data = ledger(world, count=2)
    client = browser(world.member)
    client.get(page(world, "transactions/"))  # session and caches warm
    with CaptureQueriesContext(connection) as small:
        client.get(page(world, "transactions/"))
    rows = [
        {
            "account": data["account"].pk,
            "occurred_on": "2025-02-01",
            "amount": Decimal("-1"),
            "category": data["travel"].pk,
            "tags": ["a", "b"],
            "splits": [{"category": data["food"].pk, "amount": Decimal("-1")}],
        }
        for _ in range(60)
    ]
    transaction_create_many(ctx=owner_ctx(world), rows=rows)
    with CaptureQueriesContext(connection) as big:
        client.get(page(world, "transactions/"))
    # The session row may or may not come from the cache; every other query is counted.
    small_sql = [q["sql"] for q in small.captured_queries if "django_session" not in q["sql"]]
    big_sql = [q["sql"][:80] for q in big.captured_queries if "django_session" not in q["sql"]]
    assert len(big_sql) == len(small_sql), big_sql
    assert len(big_sql) <= 8, big_sql


@pytest.mark.django_db
def test_inline_edit_saves_with_the_etag(world: OrgWorld) -> None:
    data = ledger(world)
    tx = data["txs"][0]
    response = browser(world.member).post(
        page(world, f"transactions/{tx.pk}/inline/"),
        {
            "category": data["travel"].pk,
            "status": "cleared",
            "tags": "trip, team",
            "etag": f'"{tx.pk}-1"',
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Travel" in response.content.decode()
    tx.refresh_from_db()
    assert (tx.category_id, tx.status, tx.version) == (data["travel"].pk, "cleared", 2)
    assert sorted(tx.tags.values_list("name", flat=True)) == ["team", "trip"]


@pytest.mark.django_db
def test_stale_inline_edit_shows_the_conflict_and_writes_nothing(world: OrgWorld) -> None:
    data = ledger(world)
    tx = data["txs"][0]
    transaction_update(ctx=owner_ctx(world), tx_id=tx.pk, category=data["travel"].pk)  # version 2
    response = browser(world.member).post(
        page(world, f"transactions/{tx.pk}/inline/"),
        {"category": data["food"].pk, "status": "cleared", "tags": "", "etag": f'"{tx.pk}-1"'},
    )
    assert response.status_code == 412
    body = response.content.decode()
    assert "changed this transaction after you opened it" in body
    assert f'value="&quot;{tx.pk}-2&quot;"' in body  # the fresh version, to save deliberately
    tx.refresh_from_db()
    assert (tx.category_id, tx.status) == (data["travel"].pk, "pending")


@pytest.mark.django_db
def test_inline_edit_of_another_orgs_transaction_is_404(world: OrgWorld) -> None:
    data = ledger(world)
    response = browser(world.outsider).post(
        f"/o/{world.other_org.slug}/transactions/{data['txs'][0].pk}/inline/",
        {"status": "cleared", "etag": "*"},
    )
    assert response.status_code == 404


@pytest.mark.django_db
def test_bulk_recategorise_then_delete_and_undo(world: OrgWorld) -> None:
    data = ledger(world)
    ids = [t.pk for t in data["txs"][:2]]
    client = browser(world.member)
    response = client.post(
        page(world, "transactions/bulk/"),
        {"ids": ids, "action": "categorise", "category": data["travel"].pk},
    )
    assert response.status_code == 302
    assert set(Transaction.objects.filter(pk__in=ids).values_list("category_id", flat=True)) == {
        data["travel"].pk
    }
    response = client.post(page(world, "transactions/bulk/"), {"ids": ids, "action": "delete"})
    undo = response["Location"].split("undo=")[1]
    assert Transaction.objects.filter(pk__in=ids, deleted_at__isnull=False).count() == 2
    listing = client.get(response["Location"]).content.decode()
    assert "Undo" in listing
    assert "Lunch 0" not in listing
    from urllib.parse import unquote

    client.post(page(world, "transactions/restore/"), {"undo": unquote(undo)})
    assert Transaction.objects.filter(pk__in=ids, deleted_at__isnull=True).count() == 2


@pytest.mark.django_db
def test_forged_undo_is_refused(world: OrgWorld) -> None:
    response = browser(world.member).post(page(world, "transactions/restore/"), {"undo": "[1,2]"})
    assert response.status_code == 400


@pytest.mark.django_db
def test_bulk_on_reconciled_rows_changes_nothing(world: OrgWorld) -> None:
    data = ledger(world)
    tx = data["txs"][0]
    Transaction.objects.filter(pk=tx.pk).update(status="reconciled")
    client = browser(world.member)
    response = client.post(
        page(world, "transactions/bulk/"), {"ids": [tx.pk], "action": "delete"}, follow=True
    )
    assert "reconciled" in response.content.decode()
    assert Transaction.objects.get(pk=tx.pk).deleted_at is None


@pytest.mark.django_db
def test_add_transaction_with_balanced_splits(world: OrgWorld) -> None:
    data = ledger(world, count=0)
    form = {
        "account": data["account"].pk,
        "occurred_on": "2026-04-01",
        "amount": "-30.00",
        "description": "Groceries and fuel",
        "status": "pending",
        "splits_used": "1",
        "split_category": [data["food"].pk, data["travel"].pk, ""],
        "split_amount": ["-20.00", "-10.00", ""],
        "split_memo": ["", "", ""],
    }
    response = browser(world.member).post(page(world, "transactions/new/"), form)
    assert response.status_code == 302
    tx = Transaction.objects.get(description="Groceries and fuel")
    assert sorted(tx.splits.values_list("amount", flat=True)) == [Decimal("-20"), Decimal("-10")]


@pytest.mark.django_db
def test_unbalanced_splits_are_refused_with_the_reason(world: OrgWorld) -> None:
    data = ledger(world, count=0)
    form = {
        "account": data["account"].pk,
        "occurred_on": "2026-04-01",
        "amount": "-30.00",
        "description": "Off",
        "status": "pending",
        "splits_used": "1",
        "split_category": [data["food"].pk],
        "split_amount": ["-20.00"],
        "split_memo": [""],
    }
    response = browser(world.member).post(page(world, "transactions/new/"), form)
    assert response.status_code == 422
    assert "add up to the amount" in response.content.decode()
    assert not Transaction.objects.filter(description="Off").exists()


@pytest.mark.django_db
def test_detail_shows_history_and_a_stale_save_is_refused(world: OrgWorld) -> None:
    data = ledger(world)
    tx = data["txs"][0]
    client = browser(world.member)
    body = client.get(page(world, f"transactions/{tx.pk}/")).content.decode()
    assert "History" in body
    assert "Created" in body
    transaction_update(ctx=owner_ctx(world), tx_id=tx.pk, description="Changed elsewhere")
    form = {
        "account": data["account"].pk,
        "occurred_on": "2026-03-01",
        "amount": "-1.50",
        "description": "Mine",
        "status": "pending",
        "etag": f'"{tx.pk}-1"',
    }
    response = client.post(page(world, f"transactions/{tx.pk}/"), form)
    assert response.status_code == 412
    tx.refresh_from_db()
    assert tx.description == "Changed elsewhere"


@pytest.mark.django_db
def test_attachment_upload_links_the_file(world: OrgWorld, settings, tmp_path) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    data = ledger(world)
    tx = data["txs"][0]
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
        b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
        b"\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    response = browser(world.member).post(
        page(world, f"transactions/{tx.pk}/attachments/"),
        {"file": SimpleUploadedFile("receipt.png", png, content_type="image/png")},
    )
    assert response.status_code == 200, response.content
    assert "receipt.png" in response.content.decode()
    assert tx.attachments.count() == 1
    response = browser(world.member).post(page(world, f"transactions/{tx.pk}/attachments/"), {})
    assert response.status_code == 400


@pytest.mark.django_db
def test_bulk_returns_to_the_filtered_list_never_elsewhere(world: OrgWorld) -> None:
    data = ledger(world)
    ids = [data["txs"][0].pk]
    client = browser(world.member)
    form = {"ids": ids, "action": "status", "status": "cleared", "next": "?q=lunch"}
    response = client.post(page(world, "transactions/bulk/"), form)
    assert response["Location"] == page(world, "transactions/?q=lunch")
    form["next"] = "https://elsewhere.example/"
    response = client.post(page(world, "transactions/bulk/"), form)
    assert response["Location"] == page(world, "transactions/")


@pytest.mark.django_db
def test_export_link_carries_the_filters_to_the_api(world: OrgWorld) -> None:
    ledger(world)
    client = browser(world.viewer)
    body = client.get(page(world, "transactions/"), {"q": "lunch 1"}).content.decode()
    link = body.split('href="/api/v1/orgs/')[1].split('"')[0].replace("&amp;", "&")
    assert "q=lunch+1" in link
    exported = b"".join(client.get("/api/v1/orgs/" + link).streaming_content).decode()
    assert "Lunch 1" in exported
    assert "Lunch 0" not in exported


@pytest.mark.django_db
def test_a_new_row_a_transfer_rule_cannot_move_says_why(world: OrgWorld) -> None:
    data = ledger(world, count=0)
    dollars = account_create(ctx=owner_ctx(world), name="Dollars", currency="USD")
    rule_create(
        ctx=owner_ctx(world), name="To dollars", actions={"transfer": dollars.pk},
        conditions=[{"field": "description", "op": "contains", "value": "dollars"}],
    )  # fmt: skip
    form = {"account": data["account"].pk, "occurred_on": "2026-04-01", "amount": "-30.00",
            "description": "To dollars", "status": "pending", "splits_used": ""}  # fmt: skip
    response = browser(world.member).post(page(world, "transactions/new/"), form, follow=True)
    html = response.content.decode()
    assert "Transaction added." in html
    assert "Not made a transfer: The accounts&#x27; currencies differ" in html
    assert Transaction.objects.get(description="To dollars").transfer_id is None
