"""What an import books of what the bank said: currency, bank state (pending, booked, reverted),
and rows that match a transaction entered by hand (linked, listed, undone)."""

import dataclasses
import datetime
from decimal import Decimal

import pytest

from kore.core.testing import client_for
from kore.imports.booking import Booked, Booker, Pending, pending_pairs
from kore.imports.matching import (
    Candidate,
    Incoming,
    counterparties_similar,
    counterparty_normalise,
    hand_matches,
)
from kore.imports.readers import Row, RowError
from kore.imports.readers.base import row_replace
from kore.ledger.models import Transaction

from .conftest import FIXTURES, upload, wait_for

D = datetime.date


def row(line=2, amount="-10.00", **values):
    return Row(line, D(2024, 3, 5), Decimal(amount), "Coffee", **values)


def test_row_replace_is_dataclasses_replace():
    given = row(currency="USD", original_amount=Decimal("-11.00"), original_currency="USD",
                bank_id="B1", metadata={"reference": "long"}, category="Food")  # fmt: skip
    changes = {"currency": "EUR", "original_amount": None, "original_currency": "", "notes": "n"}
    assert row_replace(given, **changes) == dataclasses.replace(given, **changes)


# --- currency -----------------------------------------------------------------------------------
def test_a_row_in_the_accounts_currency_or_unstated_is_booked():
    booker = Booker("EUR")
    for given in ("", "EUR", "eur"):
        booked = booker.book(row(currency=given))
        assert isinstance(booked, Row)
        assert (booked.amount, booked.currency, booked.original_amount) == (
            Decimal("-10.00"), "EUR", None,
        )  # fmt: skip


def test_a_row_in_another_currency_is_refused_with_what_to_do():
    refused = Booker("EUR").book(row(currency="USD"))
    assert isinstance(refused, RowError)
    assert (refused.line, refused.column, refused.code) == (2, "currency", "currency_mismatch")
    assert "USD" in refused.message
    assert "EUR" in refused.message
    assert "account kept in USD" in refused.message


def test_an_amount_in_the_accounts_currency_too_is_booked_keeping_the_original():
    # CAMT: <Amt Ccy="USD">-11.00</Amt>, with the counter-value in EUR (unsigned, as banks give it)
    booked = Booker("EUR").book(
        row(amount="-11.00", currency="USD", original_amount=Decimal("10.12"),
            original_currency="EUR")
    )  # fmt: skip
    assert isinstance(booked, Row)
    assert (booked.amount, booked.currency) == (Decimal("-10.12"), "EUR")
    assert (booked.original_amount, booked.original_currency) == (Decimal("-11.00"), "USD")


def test_a_row_in_the_accounts_currency_keeps_a_foreign_original():
    # OFX: <TRNAMT>-10.12 with <ORIGCURRENCY><CURRATE>…<CURSYM>USD, original -11.00
    booked = Booker("EUR").book(
        row(amount="-10.12", original_amount=Decimal("-11.00"), original_currency="USD")
    )
    assert isinstance(booked, Row)
    assert (booked.amount, booked.original_amount, booked.original_currency) == (
        Decimal("-10.12"), Decimal("-11.00"), "USD",
    )  # fmt: skip


def test_a_counter_value_finer_than_the_currency_is_refused():
    refused = Booker("EUR").book(
        row(currency="USD", original_amount=Decimal("10.123"), original_currency="EUR")
    )
    assert isinstance(refused, RowError)
    assert refused.column == "amount"


# --- bank state ---------------------------------------------------------------------------------
def test_reverted_rows_are_skipped_and_counted_pending_ones_counted():
    booker = Booker("EUR")
    items = [row(2), row(3, bank_state="reverted"), row(4, bank_state="pending"),
             RowError(5, "date", "invalid_date", "x"), row(6, currency="GBP")]  # fmt: skip
    out = list(booker(items))
    assert [(type(i).__name__, i.line) for i in out] == [
        ("Row", 2), ("Row", 4), ("RowError", 5), ("RowError", 6),
    ]  # fmt: skip
    assert (booker.counts.reverted, booker.counts.pending) == (1, 1)


def test_booked_rows_replace_pending_ones_by_bank_id_then_amount_and_date():
    pending = [
        Pending(1, D(2024, 3, 1), Decimal("-5"), "AUTH-1"),
        Pending(2, D(2024, 3, 1), Decimal("-7"), ""),
        Pending(3, D(2024, 3, 1), Decimal("-9"), ""),
    ]
    booked = [
        Booked(10, D(2024, 3, 3), Decimal("-5.50"), "AUTH-1"),  # tip added: same bank id
        Booked(11, D(2024, 3, 9), Decimal("-7"), ""),  # 8 days later: another payment
        Booked(12, D(2024, 3, 3), Decimal("-7"), ""),
        Booked(13, D(2024, 3, 2), Decimal("-7"), ""),  # the nearest date wins
    ]
    pairs = pending_pairs(pending, booked, days=3)
    assert sorted((b.line, p.id) for b, p in pairs) == [(10, 1), (13, 2)]


# --- counterparties and matching ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("SQ *BLUE BOTTLE COFFEE #123 OAKLAND CA", "blue bottle coffee oakland"),
        ("PAYPAL *SPOTIFY 4029357733", "spotify"),
        ("Blue Bottle Coffee", "blue bottle coffee"),
        ("  REWE  Markt GmbH, 12345 ", "rewe markt gmbh"),
        ("\uff21\uff2d\uff21\uff3a\uff2f\uff2e", "amazon"),  # full-width letters
    ],
)
def test_counterparties_normalise(text, normal):
    assert counterparty_normalise(text) == normal


def test_counterparties_similar():
    assert counterparties_similar("SQ *BLUE BOTTLE COFFEE #123 OAKLAND CA", "Blue Bottle Coffee")
    assert counterparties_similar("Spotify AB", "PAYPAL *SPOTIFY 402935")
    assert counterparties_similar("", "Anything")  # nothing to tell them apart
    assert not counterparties_similar("Blue Bottle Coffee", "Starbucks")


def test_hand_matches_link_only_a_single_fit():
    on = D(2024, 3, 5)
    candidates = [
        Candidate(1, on, Decimal("-4.50"), "Blue Bottle"),
        Candidate(2, on, Decimal("-20"), "Rent share"),
        Candidate(3, on, Decimal("-20"), "Rent share"),
        Candidate(4, on, Decimal("-7"), "Bakery"),
    ]
    incoming = [
        Incoming(2, on, Decimal("-4.50"), "SQ *BLUE BOTTLE COFFEE 12"),
        Incoming(3, on, Decimal("-20"), "RENT SHARE"),
        Incoming(4, on, Decimal("-7"), "BAKERY"),
        Incoming(5, on, Decimal("-7"), "BAKERY"),
        Incoming(6, on + datetime.timedelta(days=4), Decimal("-4.50"), "Blue Bottle"),
    ]
    found = {m.line: (m.linked, m.candidates) for m in hand_matches(incoming, candidates, days=3)}
    assert found == {2: (1, (1,)), 3: (None, (2, 3)), 4: (None, (4,)), 5: (None, (4,))}


# --- through the API and the worker ---------------------------------------------------------------
def post(world, account, data, name="statement.csv", **fields):
    response = client_for(world.member).post(
        f"/api/v1/orgs/{world.org.slug}/imports/",
        {"file": upload(name, data), "account": account.pk, **fields},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    return response.json()["id"]


def job_json(world, job_id):
    return client_for(world.viewer).get(f"/api/v1/orgs/{world.org.slug}/imports/{job_id}/").json()


def hand_entered(world, account, on, amount, counterparty):
    response = client_for(world.member).post(
        f"/api/v1/orgs/{world.org.slug}/transactions/",
        {"account": account.pk, "occurred_on": on, "amount": amount,
         "counterparty": counterparty, "description": "entered by hand"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    return response.json()["id"]


def live(account):
    return Transaction.objects.filter(account=account, deleted_at__isnull=True)


CSV = (
    b"Date,Payee,Amount\n"
    b"2024-03-07,SQ *BLUE BOTTLE COFFEE #4411 OAKLAND CA,-4.50\n"
    b"2024-03-08,Landlord Ltd,-800.00\n"
    b"2024-03-09,BAKERY SCHMIDT,-7.00\n"
)


@pytest.mark.django_db(transaction=True)
def test_an_imported_row_is_linked_to_the_one_hand_entered_match_and_can_be_undone(
    celery_worker, world, account
):
    coffee = hand_entered(world, account, "2024-03-05", "-4.50", "Blue Bottle Coffee")
    bakery_a = hand_entered(world, account, "2024-03-09", "-7.00", "Bakery Schmidt")
    bakery_b = hand_entered(world, account, "2024-03-10", "-7.00", "Bakery Schmidt")
    job = wait_for(post(world, account, CSV))
    assert job.status == "done", (job.error_code, job.error_message)
    body = job_json(world, job.pk)
    assert body["counts"]["matched"] == 1
    assert body["counts"]["created"] == 2  # the rent, and the bakery row with two candidates
    by_line = {m["line"]: m for m in body["matches"]}
    assert (by_line[2]["status"], by_line[2]["transaction"]) == ("linked", coffee)
    assert (by_line[4]["status"], sorted(by_line[4]["candidates"])) == (
        "choose", sorted([bakery_a, bakery_b]),
    )  # fmt: skip
    chose = client_for(world.member).post(
        f"/api/v1/orgs/{world.org.slug}/imports/{job.pk}/matches/choose/",
        {"line": 4, "transaction": bakery_b}, format="json",
    )  # fmt: skip
    assert chose.status_code == 200, chose.content
    bakery = live(account).filter(amount=Decimal("-7.00")).order_by("id")
    assert [(t.pk, t.bank_state) for t in bakery] == [(bakery_a, ""), (bakery_b, "booked")]
    not_one = client_for(world.member).post(
        f"/api/v1/orgs/{world.org.slug}/imports/{job.pk}/matches/choose/",
        {"line": 3, "transaction": bakery_a}, format="json",
    )  # fmt: skip
    assert not_one.json()["error"]["code"] == "import_line_not_matched"
    assert live(account).filter(amount=Decimal("-4.50")).count() == 1  # not booked twice
    linked = (
        client_for(world.viewer).get(f"/api/v1/orgs/{world.org.slug}/transactions/{coffee}/").json()
    )
    assert (linked["counterparty"], linked["bank_state"]) == ("Blue Bottle Coffee", "booked")

    undo = client_for(world.member).post(
        f"/api/v1/orgs/{world.org.slug}/imports/{job.pk}/matches/undo/", {"line": 2}, format="json"
    )
    assert undo.status_code == 201, undo.content
    assert undo.json()["transaction"] == coffee
    coffees = live(account).filter(amount=Decimal("-4.50")).order_by("id")
    assert [(t.pk == coffee, t.counterparty, t.bank_state) for t in coffees] == [
        (True, "Blue Bottle Coffee", ""),
        (False, "SQ *BLUE BOTTLE COFFEE #4411 OAKLAND CA", "booked"),
    ]
    body = job_json(world, job.pk)
    assert body["counts"]["matched"] == 1  # the bakery row, chosen
    assert {m["line"]: m["status"] for m in body["matches"]} == {2: "undone", 4: "linked"}
    again = client_for(world.member).post(
        f"/api/v1/orgs/{world.org.slug}/imports/{job.pk}/matches/undo/", {"line": 2}, format="json"
    )
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "import_line_not_matched"


@pytest.mark.django_db(transaction=True)
def test_a_booked_row_replaces_the_bank_pending_transaction(celery_worker, world, account):
    # What an earlier import left: the card payment as the bank first reported it, pending.
    pending = Transaction.objects.create(
        organization=world.org, account=account, currency="EUR", occurred_on=D(2024, 3, 6),
        amount=Decimal("-800.00"), description="LANDLORD LTD (pending)", bank_state="pending",
        fingerprint="0" * 64, notes="my note",
    )  # fmt: skip
    job = wait_for(post(world, account, CSV))
    assert job.status == "done", (job.error_code, job.error_message)
    body = job_json(world, job.pk)
    assert (body["counts"]["replaced"], body["counts"]["created"]) == (1, 2)
    rent = live(account).get(amount=Decimal("-800.00"))
    assert rent.pk == pending.pk
    assert (rent.occurred_on, rent.counterparty, rent.bank_state, rent.notes) == (
        D(2024, 3, 8), "Landlord Ltd", "booked", "my note",
    )  # fmt: skip
    assert rent.status == "cleared"  # the bank booked it: a statement counts it now
    shown = (
        client_for(world.viewer)
        .get(f"/api/v1/orgs/{world.org.slug}/transactions/?account={account.pk}")
        .json()["results"]
    )
    assert {t["bank_state"] for t in shown} == {"booked"}


@pytest.mark.django_db(transaction=True)
def test_a_row_in_another_currency_refuses_the_file_and_says_what_to_do(
    celery_worker, world, account
):
    job = wait_for(post(world, account, None, "camt053_states_currencies.xml"))
    body = job_json(world, job.pk)
    assert (body["status"], body["error"]["code"]) == ("failed", "import_rows_invalid")
    (error,) = body["errors"]
    assert (error["line"], error["column"], error["code"]) == (2, "currency", "currency_mismatch")
    assert error["message"] == (
        "The row is in USD; the account is in EUR. Import it into an account kept in USD, or "
        "give the amount in EUR as well."
    )
    assert not live(account).exists()


@pytest.mark.django_db(transaction=True)
def test_currencies_and_bank_states_as_the_user_sees_them(celery_worker, world, account):
    job = wait_for(post(world, account, None, "camt053_states_currencies.xml", mode="skip_invalid"))
    body = job_json(world, job.pk)
    assert body["status"] == "done", body["error"]
    assert body["counts"] == {
        "created": 3, "duplicates_skipped": 0, "invalid": 1, "pending": 2, "replaced": 0,
        "reverted_skipped": 0, "matched": 0,
    }  # fmt: skip
    shown = (
        client_for(world.viewer)
        .get(
            f"/api/v1/orgs/{world.org.slug}/transactions/?account={account.pk}&ordering=occurred_on"
        )
        .json()["results"]
    )
    assert [
        (t["occurred_on"], t["amount"], t["currency"], t["original_amount"],
         t["original_currency"], t["bank_state"], t["status"])
        for t in shown
    ] == [
        ("2024-07-02", "-85.23", "EUR", "-92.00", "USD", "booked", "cleared"),
        ("2024-07-30", "-12.00", "EUR", None, "", "pending", "pending"),
        ("2024-08-02", "500.00", "EUR", None, "", "pending", "pending"),
    ]  # fmt: skip
    assert shown[0]["bank_id"] == "FX-1"


@pytest.mark.django_db(transaction=True)
def test_reverted_rows_are_skipped_and_counted(celery_worker, world, account):
    ofx = (FIXTURES / "statement.ofx").read_bytes()
    first = ofx.index(b"<STMTTRN>")
    withdrawn = (
        b"<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240115<TRNAMT>-99.00<FITID>W1"
        b"<CORRECTFITID>OLD1<CORRECTACTION>DELETE<NAME>WITHDRAWN</STMTTRN>"
    )
    data = ofx[:first] + withdrawn + ofx[first:]
    job = wait_for(post(world, account, data, "statement.ofx"))
    body = job_json(world, job.pk)
    assert body["status"] == "done", body["error"]
    assert (body["counts"]["reverted_skipped"], body["counts"]["created"]) == (1, 3)
    assert not live(account).filter(amount=Decimal("-99.00")).exists()


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_shows_what_kore_understood_and_the_rows_as_booked(celery_worker, world, account):
    data = (
        "Buchungstag;Empfänger;Betrag;Soll/Haben\n"
        "05.03.2024;Bäckerei Schmidt;7,00;S\n"
        "06.03.2024;Arbeitgeber GmbH;2.500,00;H\n"
    ).encode("cp1252")
    job = wait_for(post(world, account, data, "umsatz.csv", dry_run="true"))
    body = job_json(world, job.pk)
    assert body["status"] == "done", body["error"]
    preview = body["preview"]
    assert {k: preview[k] for k in ("format", "encoding", "delimiter", "date_format",
                                    "currency")} == {
        "format": "csv", "encoding": "cp1252", "delimiter": ";", "date_format": "%d.%m.%Y",
        "currency": "EUR",
    }  # fmt: skip
    assert "Soll/Haben" in preview["direction"]
    assert [(r["line"], r["occurred_on"], r["amount"], r["currency"], r["direction"],
             r["counterparty"]) for r in preview["rows"]] == [
        (2, "2024-03-05", "-7.00", "EUR", "out", "Bäckerei Schmidt"),
        (3, "2024-03-06", "2500.00", "EUR", "in", "Arbeitgeber GmbH"),
    ]  # fmt: skip
    assert not live(account).exists()  # nothing written
