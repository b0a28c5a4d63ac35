"""Statement files as banks produce them (OFX 1.x/2.x, QFX, camt.052/053/054), through the import
service: what is booked, or the error the user sees. What the readers report beyond the booked
columns (currency, bank state, account, balances) is asserted on the reader, whose consumer is
the booking step."""

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from kore.core.testing import client_for
from kore.imports.models import ImportJob
from kore.imports.readers import ImportFileError, Row, format_detect, reader_open
from kore.imports.readers.base import WHOLE_FILE_MAX_BYTES
from kore.imports.services import import_job_run
from kore.ledger.tests.factories import AccountFactory

from .conftest import FIXTURES, upload
from .test_services_import import live, run

pytestmark = pytest.mark.django_db


def read(name: str, currency: str = "EUR") -> tuple[list[Row], object]:
    path = FIXTURES / name
    reader = reader_open(format_detect(path.read_bytes()[:4096], name), lambda: path.open("rb"),
                         currency=currency, size=path.stat().st_size, mapping={})  # fmt: skip
    rows = list(reader.rows())
    assert all(isinstance(r, Row) for r in rows), rows
    return rows, reader  # type: ignore[return-value]


def booked(account) -> list[tuple[date, Decimal, str, str]]:
    return [(t.occurred_on, t.amount, t.description, t.counterparty)
            for t in live(account).order_by("import_job_id", "import_line")]  # fmt: skip


def account_in(world, currency: str):
    return AccountFactory(organization=world.org, currency=currency)


# --- dates --------------------------------------------------------------------------------------
def test_camt_dates_with_a_zone_offset_are_the_banks_local_date(world):
    chf = account_in(world, "CHF")
    job = run(world, chf, "camt053_v04_offsets.xml")
    assert job.status == "done", job.error_message
    # 00:30+02:00 is the 29th in UTC and 23:45-04:00 the 1st of May: both booked on the 30th.
    assert [t[0] for t in booked(chf)] == [date(2024, 4, 30), date(2024, 4, 30)]


def test_ofx_dtposted_is_the_banks_local_date_at_any_offset(world, account):
    job = run(world, account, "ofx_evening_offsets.ofx")
    assert job.status == "done", job.error_message
    assert [t[0] for t in booked(account)] == [
        date(2024, 1, 31),  # 22:30 at -8: 1 February in UTC
        date(2024, 1, 15),  # 23:15 at -5
        date(2024, 1, 20),  # 00:30 at +9: 19 January in UTC
        date(2024, 1, 25),  # 01:30 at +5.30
    ]


# --- versions and layouts -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "currency", "first"),
    [
        ("camt053.xml", "EUR", ("Strom März", "Stadtwerke")),  # .02: Cdtr/Nm
        ("camt053_v04_offsets.xml", "CHF", ("Rechnung Strom April", "Elektrizitaetswerk Zuerich")),
        ("camt053_v08.xml", "EUR", ("Contributie mei", "Sportschool Fit BV")),  # Cdtr/Pty/Nm
        ("camt053_v12.xml", "EUR", ("Contributie mei", "Sportschool Fit BV")),
    ],
)
def test_each_camt053_version_keeps_the_counterparty(world, name, currency, first):
    target = account_in(world, currency)
    job = run(world, target, name)
    assert job.status == "done", job.error_message
    rows = booked(target)
    assert rows[0][2:] == first
    assert [r[1] > 0 for r in rows[:2]] == [False, True]


def test_ofx_as_banks_send_it_is_read(world):
    """Blank lines before the header, CHECKNUM before NAME, closed and unclosed values mixed,
    escaped ampersands, a comma as the decimal mark, an empty MEMO."""
    usd = account_in(world, "USD")
    job = run(world, usd, "ofx_bank_quirks.ofx")
    assert job.status == "done", job.error_message
    assert booked(usd) == [
        (date(2024, 2, 5), Decimal("-150.00"), "CHECK 1042", "CHECK 1042"),
        (date(2024, 2, 7), Decimal("-62.37"), "Groceries & household", "SMITH & SONS MARKET"),
        (date(2024, 2, 15), Decimal("2500.00"), "PAYROLL ACME CORP", "PAYROLL ACME CORP"),
    ]


def test_ofx_2_xml_is_read(world, account):
    # Line 2 is in USD with only a rate, no EUR amount: the booking step refuses it.
    job = run(world, account, "ofx2_currencies.ofx", mode="skip_invalid")
    assert job.status == "done", job.error_message
    assert [e["code"] for e in job.errors] == ["currency_mismatch"]
    assert booked(account)[0] == (
        date(2024, 4, 3),
        Decimal("-91.74"),
        "Card payment abroad",
        "HOTEL LONDON",
    )


# --- errors a user sees -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("camt053_truncated.xml", None, "import_file_malformed"),
        ("x.ofx", b"OFXHEADER:100\nDATA:OFXSGML\n\n<OF", "import_file_malformed"),
        ("x.ofx", b"OFXHEADER:100\n\n<OFX><BANKMSGSRSV1><STMTTRNRS>", "import_no_statement"),
        ("x.ofx", b'<?xml version="1.0"?><!DOCTYPE OFX [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                  b"<OFX><STMTRS>&x;</STMTRS></OFX>", "import_xml_forbidden"),
        ("x.xml", b"<?xml version='1.0'?><Document><BkToCstmrStmt><Stmt>\x00</Stmt>",
         "import_file_malformed"),
        ("x.xml", b'<?xml version="1.0" encoding="big5"?><Document/>',
         "import_encoding_unsupported"),
        ("x.xml", b'<?xml version="1.0" encoding="utf-9"?><Document/>',
         "import_encoding_unsupported"),
    ],
)  # fmt: skip
def test_error_messages_never_carry_a_path_or_a_library_exception(world, account, name, data,
                                                                  code):  # fmt: skip
    job = run(world, account, name, data)
    assert (job.status, job.error_code) == ("failed", code)
    message = job.error_message
    assert job.file_path not in message
    assert str(settings.MEDIA_ROOT) not in message
    assert not any(word in message for word in ("Error", "Exception", "Traceback", "line 1 of",
                                                "etree", "expat", "ofxtools"))  # fmt: skip


def test_an_xml_that_is_no_statement_says_what_it_is(world, account):
    job = run(world, account, "pain001_not_a_statement.xml")
    assert (job.status, job.error_code) == ("failed", "import_format_unknown")
    assert "CstmrCdtTrfInitn" in job.error_message
    assert "camt.053" in job.error_message


def test_an_ofx_error_response_shows_the_banks_message(world, account):
    job = run(world, account, "ofx_error_response.ofx")
    assert (job.status, job.error_code) == ("failed", "import_bank_error")
    assert "Account not found or access denied" in job.error_message
    assert "2003" in job.error_message


def test_an_investment_statement_is_named_as_such(world, account):
    job = run(world, account, "ofx_investment.ofx")
    assert (job.status, job.error_code) == ("failed", "import_investment_statement")
    assert "This is an investment statement; Kore imports cash accounts" in job.error_message


# --- field choices ------------------------------------------------------------------------------
def test_ofx_takes_the_name_when_the_memo_is_a_reference(world, account):
    job = run(world, account, "ofx_memo_reference.ofx")
    assert job.status == "done", job.error_message
    assert [(t[2], t[3]) for t in booked(account)] == [
        ("CARREFOUR MARKET", "CARREFOUR MARKET"),
        ("FREE MOBILE", "FREE MOBILE"),
        ("Loyer mars appartement", "Agence Immo Dupont"),  # PAYEE/NAME; the memo is text
    ]
    rows, _ = read("ofx_memo_reference.ofx")
    assert (rows[1].notes, rows[1].metadata["memo"]) == ("REF:FM-2024-03-889",) * 2  # type: ignore[index]


def test_camt_takes_the_best_text_and_keeps_the_rest(world):
    chf = account_in(world, "CHF")
    run(world, chf, "camt053_v04_offsets.xml")
    run(world, chf, "camt054_notification.xml")
    descriptions = [t[2] for t in booked(chf)]
    # AddtlTxInf before the structured reference; the entry's text before a bare QR number
    assert descriptions == ["Rechnung Strom April", "Rueckerstattung Kaution",
                            "Gutschrift QR-Rechnung"]  # fmt: skip
    rows, _ = read("camt053_v04_offsets.xml", "CHF")
    assert rows[0].notes == "e-Banking-Zahlung · RF18539007547034"
    assert rows[0].metadata == {
        "entry": "1", "message": "camt053", "bank_transaction_code": "PMNT/ICDT/ESCT",
        "value_date": "2024-04-30+02:00", "counterparty_account": "CH5604835012345678009",
        "end_to_end_id": "E2E-INV-4471", "structured_reference": "RF18539007547034",
    }  # fmt: skip


# --- batches ------------------------------------------------------------------------------------
def test_a_camt_batch_becomes_its_transactions_or_says_it_is_a_batch(world, account):
    job = run(world, account, "camt053_batch.xml")
    assert (job.status, job.created_count) == ("done", 5)
    assert booked(account) == [
        (date(2024, 6, 28), Decimal("-1500.00"), "Gehalt Juni", "Anna Schmidt"),
        (date(2024, 6, 28), Decimal("-1250.00"), "Gehalt Juni", "Ben Weber"),
        (date(2024, 6, 28), Decimal("-1000.00"), "Gehalt Juni", "Clara Fischer"),
        # no amounts per transaction: one row, for the entry's amount, saying what it is
        (date(2024, 6, 28), Decimal("95.80"), "Batch of 2 transactions: SEPA Sammelgutschrift",
         ""),
        # only the count: one row, saying so
        (date(2024, 6, 28), Decimal("-1234.00"),
         "Batch of 12 transactions: SEPA Lastschrift Sammler", ""),
    ]  # fmt: skip
    rows, _ = read("camt053_batch.xml")
    assert rows[3].notes == "Kunde Eins Rechnung 17 · Kunde Zwei Rechnung 18"


# --- formats ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "fmt", "states", "kept"),
    [
        # intraday: never final, every entry bank-pending
        ("camt052_intraday.xml", "camt052", ["pending", "pending"], ["pending", "pending"]),
        ("camt054_notification.xml", "camt054", ["booked"], ["booked"]),
        # the entry in USD alone is refused (currency_mismatch); PDNG and INFO are pending
        ("camt053_states_currencies.xml", "camt053", ["booked", "booked", "pending", "pending"],
         ["booked", "pending", "pending"]),
    ],
)  # fmt: skip
def test_camt_052_and_054_are_detected_and_read_with_their_meaning(world, name, fmt, states,
                                                                   kept):  # fmt: skip
    currency = "CHF" if fmt == "camt054" else "EUR"
    target = account_in(world, currency)
    job = run(world, target, name, mode="skip_invalid")
    assert (job.status, job.format) == ("done", fmt)
    booked_states = live(target).order_by("import_line").values_list("bank_state", flat=True)
    assert list(booked_states) == kept
    rows, reader = read(name, currency)
    assert [r.bank_state for r in rows] == states
    kind = {"camt052": "intraday", "camt053": "statement", "camt054": "notification"}[fmt]
    assert [s.kind for s in reader.statements] == [kind]  # type: ignore[attr-defined]


def test_the_currency_the_bank_states_is_reported_with_the_original_amount():
    rows, _ = read("camt053_states_currencies.xml")
    assert [(r.amount, r.currency, r.original_amount, r.original_currency) for r in rows[:2]] == [
        (Decimal("-85.23"), "EUR", Decimal("-92.00"), "USD"),  # TxAmt in EUR, InstdAmt in USD
        (Decimal("-40.00"), "USD", None, ""),  # in USD only: for the booking step to refuse
    ]
    rows, _ = read("ofx2_currencies.ofx")
    assert [(r.currency, r.original_currency, (r.metadata or {}).get("currency_rate"))
            for r in rows] == [("EUR", "GBP", "1.1650"), ("USD", "", "0.9200"),
                               ("EUR", "", None)]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "accounts"),
    [
        ("ofx_two_accounts.ofx", [("11111111", None, Decimal("790.00"), 2),
                                  ("22222222", None, Decimal("5200.00"), 1)]),
        ("camt053_two_accounts.xml", [
            ("DE89370400440532013000", Decimal("100.00"), Decimal("90.00"), 1),
            ("0532013001", Decimal("-20.00"), Decimal("480.00"), 1),
        ]),
    ],
)  # fmt: skip
def test_files_with_several_accounts_name_each_rows_account(name, accounts):
    rows, reader = read(name)
    statements = reader.statements  # type: ignore[attr-defined]
    assert [(s.account_ref, s.opening_balance, s.closing_balance, s.rows)
            for s in statements] == accounts  # fmt: skip
    refs = [s.account_ref for s in statements for _ in range(s.rows)]
    assert [r.account_ref for r in rows] == refs


def test_statement_balances_and_period_are_exposed():
    _, reader = read("camt053_v04_offsets.xml", "CHF")
    (statement,) = reader.statements  # type: ignore[attr-defined]
    assert (statement.currency, statement.opening_date, statement.closing_date,
            statement.start, statement.end) == (
        "CHF", date(2024, 4, 29), date(2024, 4, 30), date(2024, 4, 30), date(2024, 4, 30)
    )  # fmt: skip
    _, reader = read("ofx_evening_offsets.ofx")
    (statement,) = reader.statements  # type: ignore[attr-defined]
    assert (statement.closing_balance, statement.closing_date) == (
        Decimal("-62.59"),
        date(2024, 1, 31),
    )


def test_format_detect_names_each_camt_message():
    for name, fmt in (("camt052_intraday.xml", "camt052"), ("camt053_v08.xml", "camt053"),
                      ("camt054_notification.xml", "camt054")):  # fmt: skip
        assert format_detect((FIXTURES / name).read_bytes()[:4096], name) == fmt
    assert format_detect(Path(FIXTURES / "statement.qfx").read_bytes(), "a.qfx") == "qfx"


def test_an_unknown_camt_status_is_a_row_error():
    path = FIXTURES / "camt053.xml"
    data = path.read_bytes().replace(b"<Sts>BOOK</Sts>", b"<Sts>XXXX</Sts>", 1)
    reader = reader_open("camt053", lambda: io.BytesIO(data), currency="EUR",
                         size=len(data), mapping={})  # fmt: skip
    first = next(iter(reader.rows()))
    assert not isinstance(first, Row)
    assert first.code == "invalid_state"
    with pytest.raises(ImportFileError):
        reader_open("nope", lambda: path.open("rb"), currency="EUR", size=1, mapping={})


# --- MT940 / MT942 ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "fmt"),
    [("mt940_de_sepa.sta", "mt940"), ("mt940_nl_swift.txt", "mt940"),
     ("mt940_abn_free_text.sta", "mt940"), ("mt942_intraday.txt", "mt942"),
     ("qif_bank_us.qif", "qif"), ("qif_accounts_de.qif", "qif")],
)  # fmt: skip
def test_mt940_mt942_and_qif_are_not_taken_for_csv(name, fmt):
    assert format_detect((FIXTURES / name).read_bytes()[:4096], name) == fmt


def test_mt940_with_german_structured_details_is_imported(world, account):
    job = run(world, account, "mt940_de_sepa.sta")
    assert (job.status, job.format) == ("done", "mt940")
    assert booked(account) == [
        # valued 29 December, entered 30 December: the entry date, in the value date's year
        (date(2023, 12, 30), Decimal("-45.90"), "2023-12-29T18:44 Debitk.3 2028-12",
         "Buchhandlung Müller"),
        (date(2024, 1, 2), Decimal("2350.00"), "Gehalt Januar 2024 Personalnummer 4711",
         "ACME Software GmbH"),
        (date(2024, 1, 5), Decimal("-89.99"), "Mobilfunkrechnung 01/2024", "Funk Mobil AG"),
    ]  # fmt: skip
    rows, reader = read("mt940_de_sepa.sta")
    assert (rows[2].metadata or {})["mandate_id"] == "M-2020-1"
    (statement,) = reader.statements  # type: ignore[attr-defined]
    assert (statement.account_ref, statement.currency, statement.opening_balance,
            statement.closing_balance, statement.closing_date) == (
        "10020030/0001234567", "EUR", Decimal("1500.00"), Decimal("3714.11"), date(2024, 1, 5)
    )  # fmt: skip


def test_mt940_in_a_swift_envelope_with_tagged_details_and_a_reversal(world, account):
    job = run(world, account, "mt940_nl_swift.txt")
    assert (job.status, job.format) == ("done", "mt940")
    assert booked(account) == [
        (date(2024, 1, 31), Decimal("-25.00"), "Cadeau verjaardag Piet", "J. Jansen"),
        (date(2024, 1, 31), Decimal("12.50"), "Terugbetaling bestelling 771", "Webwinkel BV"),
        # RC: a credit reversed is a debit, booked with its sign
        (date(2024, 1, 31), Decimal("-12.50"), "Storno terugbetaling 771", "Webwinkel BV"),
    ]
    rows, reader = read("mt940_nl_swift.txt")
    assert [r.account_ref for r in rows] == ["NL20INGB0001234567"] * 3
    assert reader.statements[0].closing_balance == Decimal("475.00")  # type: ignore[attr-defined]


def test_mt940_with_free_text_details_and_a_bank_preamble(world, account):
    job = run(world, account, "mt940_abn_free_text.sta")
    assert job.status == "done", job.error_message
    assert [(t[1], t[2]) for t in booked(account)] == [
        (Decimal("-12.34"), "BEA NR:XXXX01 02.03.24/14.02 ALBERT HEIJN 1234 AMSTERDAM,PAS999"),
        (Decimal("100.00"), "OVERBOEKING VAN REKENING 123456789 SPAAR"),
    ]


def test_mt942_rows_are_bank_pending(world, account):
    job = run(world, account, "mt942_intraday.txt")
    assert (job.status, job.format) == ("done", "mt942")
    assert list(live(account).order_by("import_line").values_list("bank_state", flat=True)) == [
        "pending",
        "pending",
    ]
    rows, reader = read("mt942_intraday.txt")
    assert [(r.amount, r.bank_state, r.description) for r in rows] == [
        (Decimal("-59.90"), "pending", "Bestellung 8812"),
        (Decimal("250.00"), "pending", "Miete September"),
    ]
    assert [s.kind for s in reader.statements] == ["intraday"]  # type: ignore[attr-defined]


def test_a_malformed_mt940_line_is_a_row_error(world, account):
    data = (FIXTURES / "mt940_abn_free_text.sta").read_bytes().replace(b"D12,34N426", b"X12,34")
    job = run(world, account, "x.sta", data)
    assert (job.status, job.error_code) == ("failed", "import_rows_invalid")
    assert job.errors[0]["code"] == "invalid_entry"


# --- QIF ----------------------------------------------------------------------------------------
def test_qif_from_quicken_is_imported(world, account):
    job = run(world, account, "qif_bank_us.qif")
    assert (job.status, job.format) == ("done", "qif")
    assert booked(account) == [
        (date(2024, 1, 2), Decimal("-1250.00"), "January rent", "City Property Management"),
        # the memo is a number: the payee describes the row
        (date(2024, 1, 15), Decimal("2480.17"), "ACME CORP PAYROLL", "ACME CORP PAYROLL"),
        (date(2024, 1, 20), Decimal("-86.40"), "Groceries and supplies", "Costco"),
        (date(2024, 1, 28), Decimal("-45.00"), "Cash withdrawal", "Cash withdrawal"),
    ]
    rows, _ = read("qif_bank_us.qif")
    assert rows[2].notes == "Split: Groceries Food -60.40; Household Cleaning -26.00"
    assert (rows[0].reference, (rows[0].metadata or {})["category"]) == ("1043", "Housing:Rent")


def test_qif_with_accounts_and_day_first_dates(world):
    # Each !Account goes to the Kore account of that name.
    account = AccountFactory(organization=world.org, currency="EUR", name="Girokonto")
    card = AccountFactory(organization=world.org, currency="EUR", name="Kreditkarte")
    job = run(world, account, "qif_accounts_de.qif")
    assert job.status == "done", job.error_message
    assert [(t[0], t[1]) for t in booked(account)] == [
        (date(2024, 1, 2), Decimal("-1234.56")),
        (date(2024, 1, 15), Decimal("3100.00")),
    ]
    assert job.routed[0]["account"] == card.pk
    rows, _ = read("qif_accounts_de.qif")
    assert [r.account_ref for r in rows] == ["Girokonto", "Girokonto", "Kreditkarte"]


def test_qif_dates_that_read_both_ways_are_refused_without_a_locale(world, account):
    job = run(world, account, "qif_ambiguous_dates.qif")
    assert (job.status, job.error_code) == ("failed", "import_date_ambiguous")
    assert "locale" in job.error_message
    job = run(world, account, "qif_ambiguous_dates.qif", mapping={"locale": "en-GB"})
    assert job.status == "done", job.error_message
    assert [t[0] for t in booked(account)] == [date(2024, 4, 3), date(2024, 6, 5)]


def test_qif_amounts_that_read_both_ways_are_refused(world, account):
    data = b"!Type:Bank\nD01/13/2024\nT-1,234\nPX\n^\n"
    job = run(world, account, "x.qif", data)
    assert (job.status, job.error_code) == ("failed", "import_amount_ambiguous")


def test_a_qif_investment_account_is_named_as_such(world, account):
    job = run(world, account, "qif_investment.qif")
    assert (job.status, job.error_code) == ("failed", "import_investment_statement")
    assert "Kore imports cash accounts" in job.error_message


def test_a_long_text_is_cut_with_an_ellipsis_and_kept_whole(world, account):
    memo = " ".join(["Sammelrechnung"] * 50)  # 749 characters
    data = (FIXTURES / "statement.ofx").read_bytes().replace(b"Weekly shop", memo.encode())
    job = run(world, account, "long.ofx", data)
    assert job.status == "done", job.error_message
    first = live(account).get(reference="F1")
    assert (len(first.description), first.description[-1]) == (500, "…")
    reader = reader_open("ofx", lambda: io.BytesIO(data), currency="EUR", size=len(data),
                         mapping={})  # fmt: skip
    row = next(iter(reader.rows()))
    assert isinstance(row, Row)
    assert (row.metadata or {})["description"] == memo


def test_an_mt940_file_with_several_accounts_names_each_rows_account():
    data = (FIXTURES / "mt940_de_sepa.sta").read_bytes() + (
        FIXTURES / "mt940_abn_free_text.sta"
    ).read_bytes()
    reader = reader_open(format_detect(data[:4096], "x.sta"), lambda: io.BytesIO(data),
                         currency="EUR", size=len(data), mapping={})  # fmt: skip
    rows = list(reader.rows())
    assert [r.line for r in rows] == [1, 2, 3, 4, 5]
    assert [r.account_ref for r in rows] == ["10020030/0001234567"] * 3 + ["417164300"] * 2  # type: ignore[union-attr]
    assert [(s.account_ref, s.rows) for s in reader.statements] == [  # type: ignore[attr-defined]
        ("10020030/0001234567", 3),
        ("417164300", 2),
    ]


@pytest.mark.parametrize("fmt", ["ofx", "mt940", "qif"])
def test_a_file_read_whole_is_refused_past_its_limit(fmt):
    reader = reader_open(fmt, lambda: io.BytesIO(b"x"), currency="EUR",
                         size=WHOLE_FILE_MAX_BYTES + 1, mapping={})  # fmt: skip
    with pytest.raises(ImportFileError) as raised:
        list(reader.rows())
    assert raised.value.code == "import_file_too_large"
    assert "at most 50 MB" in raised.value.message


def test_a_locale_for_a_qif_is_given_through_the_api(world, account):
    body = {"file": upload("qif_ambiguous_dates.qif"), "account": account.pk,
            "mapping": '{"locale": "en-US"}'}  # fmt: skip
    # (outside a committed transaction the worker is never sent the job: it runs here)
    response = client_for(world.member).post(
        f"/api/v1/orgs/{world.org.slug}/imports/", body, format="multipart"
    )
    assert response.status_code == 202, response.content
    import_job_run(job_id=response.json()["id"])
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.format) == ("done", "qif")
    assert [t[0] for t in booked(account)] == [date(2024, 3, 4), date(2024, 5, 6)]


def test_ofx_pending_transactions_are_bank_pending(world, account):
    pending = (b"<BANKTRANLISTP><DTASOF>20240430</DTASOF><STMTTRNP><TRNTYPE>POS</TRNTYPE>"
               b"<DTTRAN>20240429</DTTRAN><TRNAMT>-7.50</TRNAMT><REFNUM>P-77</REFNUM>"
               b"<NAME>CAFE CENTRAL</NAME></STMTTRNP></BANKTRANLISTP>")  # fmt: skip
    data = (
        (FIXTURES / "ofx2_currencies.ofx")
        .read_bytes()
        .replace(b"</BANKTRANLIST>", b"</BANKTRANLIST>" + pending)
    )
    job = run(world, account, "p.ofx", data, mode="skip_invalid")  # the USD row is refused
    assert job.status == "done", job.error_message
    cafe = live(account).get(reference="P-77")
    assert (cafe.occurred_on, cafe.amount, cafe.bank_state) == (
        date(2024, 4, 29),
        Decimal("-7.50"),
        "pending",
    )


def test_an_empty_ofx_value_never_swallows_the_values_after_it():
    """<NAME></NAME> closed in one transaction, <NAME> empty and unclosed in the next."""
    data = (FIXTURES / "statement.ofx").read_bytes()
    data = data.replace(b"<NAME>GROCER", b"<NAME>GROCER</NAME>").replace(
        b"<TRNAMT>100.00<FITID>F2<NAME>REFUND CO", b"<NAME><TRNAMT>100.00<FITID>F2"
    )
    assert b"<NAME><TRNAMT>" in data
    reader = reader_open("ofx", lambda: io.BytesIO(data), currency="EUR", size=len(data),
                         mapping={})  # fmt: skip
    rows = list(reader.rows())
    assert [(r.amount, r.reference, r.counterparty) for r in rows] == [  # type: ignore[union-attr]
        (Decimal("-12.50"), "F1", "GROCER"), (Decimal("100.00"), "F2", ""),
        (Decimal("-7.00"), "F3", "CINEMA"),
    ]  # fmt: skip


def test_an_account_the_bank_failed_beside_others_is_a_row_error(world, account):
    failed = (b"<STMTTRNRS><TRNUID>3<STATUS><CODE>2019<SEVERITY>ERROR"
              b"<MESSAGE>Duplicate request</STATUS></STMTTRNRS>")  # fmt: skip
    data = (
        (FIXTURES / "statement.ofx")
        .read_bytes()
        .replace(b"</BANKMSGSRSV1>", failed + b"</BANKMSGSRSV1>")
    )
    job = run(world, account, "x.ofx", data)
    assert (job.status, job.error_code) == ("failed", "import_rows_invalid")
    said = ("The bank sent an error instead of a statement (OFX code 2019): “Duplicate "
            "request”. Download the statement again from the bank.")  # fmt: skip
    assert job.errors == [{"line": 4, "column": "STATUS", "code": "bank_error", "message": said}]
