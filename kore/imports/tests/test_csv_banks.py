"""CSV files as banks and payment apps export them, through the import service: the values
booked, or the refusal a user sees (code and message)."""

from datetime import date
from decimal import Decimal

import pytest

from kore.imports.readers import reader_open
from kore.imports.readers.base import Row

from .conftest import FIXTURES
from .test_services_import import live, run


def booked(account) -> list[tuple[date, Decimal, str, str, str]]:
    return [
        (t.occurred_on, t.amount, t.description, t.counterparty, t.reference)
        for t in live(account).order_by("import_line")
    ]


def rows_of(name: str, mapping: dict[str, object] | None = None) -> list[Row]:
    path = FIXTURES / name
    reader = reader_open("csv", lambda: path.open("rb"), currency="EUR", size=path.stat().st_size,
                         mapping=mapping or {})  # fmt: skip
    rows = list(reader.rows())
    assert all(isinstance(r, Row) for r in rows), rows
    return rows  # type: ignore[return-value]


@pytest.mark.django_db
def test_a_trailing_delimiter_on_every_row_is_read(world, account):
    job = run(world, account, "csv_us_trailing_comma.csv")
    assert (job.status, job.created_count, job.invalid_count) == ("done", 3, 0)
    assert booked(account) == [
        (date(2024, 1, 16), Decimal("-82.17"), "WHOLEFDS MKT #10234 SEATTLE WA", "", ""),
        (date(2024, 1, 15), Decimal("2000.00"), "ACME CORP PAYROLL PPD ID: 9876543210", "", ""),
        (date(2024, 1, 19), Decimal("-150.00"), "CHECK 1042", "", "1042"),
    ]


@pytest.mark.django_db
def test_a_row_with_more_filled_columns_than_the_header_is_still_refused(world, account):
    data = b"Date,Description,Amount\n2024-01-02,Shop,-1.00,surprise\n"
    job = run(world, account, "extra.csv", data)
    assert (job.status, job.error_code) == ("failed", "import_rows_invalid")
    assert job.errors[0]["code"] == "column_count"


@pytest.mark.django_db
def test_date_times_book_the_date_as_written(world, account):
    job = run(world, account, "csv_fintech_states.csv")
    assert job.status == "done"
    dates = list(live(account).order_by("import_line").values_list("occurred_on", flat=True))
    assert dates[:2] == [date(2024, 3, 1), date(2024, 3, 2)]  # 23:41 stays on the 1st


@pytest.mark.django_db
def test_date_times_with_an_offset_book_the_organisations_date(world, account):
    world.org.time_zone = "Europe/Berlin"
    world.org.save(update_fields=["time_zone"])
    job = run(world, account, "csv_fintech_iso_instants.csv")
    assert (job.status, job.created_count) == ("done", 3)
    assert [d for d, *_ in booked(account)] == [
        date(2024, 3, 2),  # 23:30Z is 00:30 in Berlin
        date(2024, 3, 2),
        date(2024, 3, 4),  # 22:45-05:00 is 04:45 the next day in Berlin
    ]


@pytest.mark.django_db
def test_the_files_time_zone_in_the_mapping_wins(world, account):
    job = run(world, account, "csv_fintech_iso_instants.csv",
              mapping={"time_zone": "America/New_York"})  # fmt: skip
    assert job.status == "done"
    assert [d for d, *_ in booked(account)] == [
        date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3),
    ]  # fmt: skip


@pytest.mark.django_db
def test_a_declared_date_format_with_a_time_part(world, account):
    data = b"Date;Text;Amount\n05.01.2024 23:59;Late;-1,00\n"
    job = run(world, account, "dt.csv", data, mapping={"date_format": "%d.%m.%Y %H:%M"})
    assert job.status == "done"
    assert booked(account)[0][:2] == (date(2024, 1, 5), Decimal("-1.00"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "csv_nl_ing_af_bij.csv",
            [(date(2024, 1, 5), Decimal("-23.45"), "Albert Heijn 1234"),
             (date(2024, 1, 25), Decimal("2750.00"), "Werkgever BV"),
             (date(2024, 1, 28), Decimal("-1234.56"), "Gemeente Utrecht")],
        ),
        (
            "csv_de_volksbank_soll_haben.csv",
            [(date(2024, 1, 2), Decimal("-85.00"), "Stadtwerke München"),
             (date(2024, 1, 15), Decimal("3150.00"), "Arbeitgeber GmbH"),
             (date(2024, 1, 20), Decimal("-4.20"), "Bäckerei Groß")],
        ),
        (
            "csv_corporate_dbit_crdt.csv",
            [(date(2024, 6, 3), Decimal("1500.00"), "Customer AG"),
             (date(2024, 6, 4), Decimal("-420.50"), "Supplier SARL")],
        ),
        (
            "csv_fr_debit_credit_preamble.csv",
            [(date(2024, 2, 14), Decimal("-8.40"), ""),
             (date(2024, 2, 15), Decimal("2345.67"), ""),
             (date(2024, 2, 20), Decimal("-1062.10"), "")],
        ),
    ],
)  # fmt: skip
def test_unsigned_amounts_take_their_sign_from_the_direction(world, account, name, expected):
    job = run(world, account, name)
    assert (job.status, job.invalid_count) == ("done", 0)
    assert [(d, a, c) for d, a, _, c, _ in booked(account)] == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("debit", "credit"),
    [("D", "C"), ("Debit", "Credit"), ("DBIT", "CRDT"), ("Af", "Bij"), ("S", "H"),
     ("Soll", "Haben"), ("DR", "CR")],
)  # fmt: skip
def test_each_direction_spelling(world, account, debit, credit):
    data = (f"Date,Amount,Direction,Text\n2024-02-01,10.00,{debit},Out\n"
            f"2024-02-02,12.50,{credit},In\n").encode()  # fmt: skip
    job = run(world, account, "dir.csv", data)
    assert job.status == "done"
    assert [a for _, a, *_ in booked(account)] == [Decimal("-10.00"), Decimal("12.50")]


@pytest.mark.django_db
def test_an_unknown_direction_is_a_row_error_naming_the_spellings(world, account):
    data = b"Date,Amount,Direction,Text\n2024-02-01,10.00,X,Out\n2024-02-02,5.00,-12,Bad\n"
    job = run(world, account, "dir.csv", data)
    assert (job.status, job.error_code) == ("failed", "import_rows_invalid")
    assert job.errors[0] == {
        "line": 2, "column": "Direction", "code": "invalid_direction",
        "message": "'x' is not a direction; Kore reads D/C, Debit/Credit, DBIT/CRDT, Af/Bij, "
        "S/H and Soll/Haben.", "value": "X",
    }  # fmt: skip
    assert not live(account).exists()


@pytest.mark.django_db
def test_the_header_is_found_past_a_preamble_and_the_account_is_kept(world, account):
    job = run(world, account, "csv_de_volksbank_soll_haben.csv")
    assert job.status == "done"
    first = live(account).order_by("import_line").first()
    assert (first.import_line, first.description, first.reference) == (
        8, "Lastschrift Strom Januar", "KREF-1",
    )  # fmt: skip
    rows = rows_of("csv_de_volksbank_soll_haben.csv")
    assert {r.account_ref for r in rows} == {"DE89370400440532013000"}


@pytest.mark.django_db
def test_a_file_without_header_is_read_by_position(world, account):
    mapping = {"date": 1, "amount": 2, "description": 3, "counterparty": 4, "header_line": 0}
    job = run(world, account, "csv_no_header.csv", mapping=mapping)
    assert (job.status, job.created_count) == ("done", 2)
    assert booked(account) == [
        (date(2024, 4, 1), Decimal("-12.50"), "Coffee beans", "Roastery", ""),
        (date(2024, 4, 2), Decimal("1500.00"), "Invoice 17 paid", "Client Ltd", ""),
    ]


@pytest.mark.django_db
def test_a_file_without_header_and_without_positions_says_what_to_map(world, account):
    job = run(world, account, "csv_no_header.csv")
    assert (job.status, job.error_code) == ("failed", "import_mapping_incomplete")
    assert job.error_message.startswith("Map the date and amount (or debit and credit) columns")


@pytest.mark.django_db
def test_long_text_is_cut_with_an_ellipsis_and_kept_whole(world, account):
    job = run(world, account, "csv_long_text.csv")
    assert (job.status, job.created_count) == ("done", 2)
    cut = live(account).order_by("import_line").first()
    assert (len(cut.description), cut.description[-1]) == (500, "…")
    assert cut.amount == Decimal("-1190.00")
    full = rows_of("csv_long_text.csv")[0].metadata
    assert full is not None
    assert full["description"].endswith("Position 039 Beratungsleistung")
    assert full["description"].startswith(cut.description[:-1])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("csv_paypal.csv", (date(2024, 3, 12), Decimal("-25.00"), "", "Handmade Shop",
                            "7AB12345CD678901E")),
        ("csv_wise.csv", (date(2024, 3, 21), Decimal("-150.00"), "Sent money to Jan Jansen", "",
                          "Rent share")),
        ("csv_n26.csv", (date(2024, 4, 10), Decimal("-9.99"), "", "Spotify AB", "")),
        ("csv_fr_boursorama.csv", (date(2024, 5, 2), Decimal("-23.47"),
                                   "CARTE 30/04/24 MONOPRIX", "monoprix", "")),
        ("csv_nl_ing_af_bij.csv", (date(2024, 1, 5), Decimal("-23.45"),
                                   "Pasvolgnr:001 05-01-2024 17:32", "Albert Heijn 1234", "")),
        ("csv_de_volksbank_soll_haben.csv", (date(2024, 1, 2), Decimal("-85.00"),
                                             "Lastschrift Strom Januar", "Stadtwerke München",
                                             "KREF-1")),
    ],
)  # fmt: skip
def test_header_names_of_banks_and_payment_apps(world, account, name, first):
    job = run(world, account, name)
    assert (job.status, job.invalid_count) == ("done", 0)
    assert booked(account)[0] == first


def test_monzo_keeps_notes_the_original_amount_and_the_banks_id():
    row = rows_of("csv_monzo.csv")[0]
    assert (row.counterparty, row.description, row.notes, row.bank_id, row.currency) == (
        "Pret A Manger", "PRET A MANGER LONDON GBR", "breakfast", "tx_0000AbCdEf", "GBP",
    )  # fmt: skip
    n26 = rows_of("csv_n26.csv")[1]
    assert (n26.currency, n26.original_amount, n26.original_currency) == (
        "EUR", Decimal("-180.00"), "CHF",
    )  # fmt: skip


def test_a_currency_column_reaches_the_row():
    rows = rows_of("csv_currency_column.csv")
    assert [(r.amount, r.currency) for r in rows] == [
        (Decimal("-210.00"), "EUR"), (Decimal("-350.00"), "USD"),
    ]  # fmt: skip
    assert {r.currency for r in rows_of("csv_nl_ing_af_bij.csv")} == {"EUR"}  # "Bedrag (EUR)"


def test_a_state_column_reaches_the_row():
    rows = rows_of("csv_fintech_states.csv")
    assert [r.bank_state for r in rows] == ["booked", "booked", "pending", "reverted", "reverted"]


@pytest.mark.django_db
def test_an_unknown_state_is_a_row_error(world, account):
    data = b"Date,Amount,Status,Text\n2024-02-01,-1.00,Completed,A\n2024-02-02,-2.00,Maybe,B\n"
    job = run(world, account, "state.csv", data)
    assert job.status == "failed"
    assert (job.errors[0]["line"], job.errors[0]["column"], job.errors[0]["code"]) == (
        3, "Status", "invalid_state",
    )  # fmt: skip


@pytest.mark.django_db
def test_dates_that_fit_day_month_and_month_day_are_refused(world, account):
    job = run(world, account, "csv_dates_ambiguous.csv")
    assert (job.status, job.error_code) == ("failed", "import_date_ambiguous")
    assert "set the mapping's locale" in job.error_message
    assert "date_format (e.g. %d/%m/%Y)" in job.error_message
    assert not live(account).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("locale", "first"), [("en-US", date(2024, 3, 4)), ("en-GB", date(2024, 4, 3))]
)
def test_a_locale_settles_the_date_order(world, account, locale, first):
    job = run(world, account, "csv_dates_ambiguous.csv", mapping={"locale": locale})
    assert job.status == "done"
    assert booked(account)[0][0] == first


@pytest.mark.django_db
def test_an_amount_that_fits_both_decimal_marks_is_refused(world, account):
    job = run(world, account, "csv_amount_ambiguous.csv")
    assert (job.status, job.error_code) == ("failed", "import_amount_ambiguous")
    assert job.error_message.startswith("The amount '1.234' reads as thousands or as decimals")
    assert not live(account).exists()
    job = run(world, account, "csv_amount_ambiguous.csv", mapping={"locale": "de-DE"})
    assert job.status == "done"
    assert [a for _, a, *_ in booked(account)] == [
        Decimal("-850.00"), Decimal("1234"), Decimal("-3.20"),
    ]  # fmt: skip


@pytest.mark.django_db
def test_an_ambiguous_amount_past_the_sample_is_a_row_error(world, account):
    rows = b"".join(b"2024-01-02,Shop,-%d.50\n" % i for i in range(300))
    data = b"Date,Description,Amount\n" + rows + b"2024-01-03,Odd,2,500\n"
    data = data.replace(b"2024-01-03,Odd,2,500", b'2024-01-03,Odd,"2,500"')
    job = run(world, account, "late.csv", data)
    assert (job.status, job.error_code) == ("failed", "import_rows_invalid")
    assert job.errors == [{
        "line": 302, "column": "Amount", "code": "amount_ambiguous",
        "message": "'2,500' reads as thousands or as decimals: set the mapping's locale or "
        "decimal.", "value": "2,500",
    }]  # fmt: skip


@pytest.mark.django_db
def test_mixed_decimal_marks_are_refused(world, account):
    data = b"Date;Text;Amount\n2024-01-02;A;-1,50\n2024-01-03;B;-2.75\n"
    job = run(world, account, "mixed.csv", data)
    assert (job.status, job.error_code) == ("failed", "import_amount_ambiguous")


@pytest.mark.django_db
def test_a_currency_column_books_only_the_accounts_currency(world, account):
    job = run(world, account, "csv_currency_column.csv", mode="skip_invalid")
    assert (job.status, job.created_count, job.invalid_count) == ("done", 1, 1)
    assert (job.errors[0]["line"], job.errors[0]["code"]) == (3, "currency_mismatch")
    assert [(a, t) for _, a, t, *_ in booked(account)] == [(Decimal("-210.00"), "Hotel Lisbon")]


@pytest.mark.django_db
def test_a_state_column_keeps_pending_rows_apart_and_skips_reverted_ones(world, account):
    job = run(world, account, "csv_fintech_states.csv")
    assert (job.status, job.created_count, job.reverted_count) == ("done", 3, 2)
    states = dict(live(account).values_list("description", "bank_state"))
    assert states == {"Bakery Lindner": "booked", "Top-up by *1234": "booked",
                      "Train ticket": "pending"}  # fmt: skip


@pytest.mark.django_db
def test_long_text_is_kept_whole_in_the_transactions_metadata(world, account):
    run(world, account, "csv_long_text.csv")
    cut = live(account).order_by("import_line").first()
    assert cut.metadata["description"].endswith("Position 039 Beratungsleistung")
    assert cut.metadata["description"].startswith(cut.description[:-1])
