"""XLSX and ODS bank exports, read like CSV through the import service (and detected on
upload), and the hostile spreadsheets refused by name."""

import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest

from kore.core.testing import client_for

from .spreadsheets import Day, Formula, Num, OdsDate, ods_bytes, xlsx_bytes, zip_bomb
from .test_services_import import live, run

# A German bank's XLSX export: a title and the account above the header, date cells, number
# cells as Excel stores them (12.339999999999999 is 12.34 as a double).
BANK_XLSX = [
    ["Umsatzliste Girokonto"],
    ["IBAN", "DE89 3704 0044 0532 0130 00"],
    [],
    ["Buchungstag", "Wertstellung", "Umsatzart", "Buchungstext", "Betrag", "Währung"],
    [Day(45296), Day(45296), "Lastschrift", "Stadtwerke Strom", Num("-12.339999999999999"), "EUR"],
    [Day(45299), Day(45299), "Gutschrift", "Gehalt Januar", Num("3150"), "EUR"],
    [Day(45306), Day(45306), "Kartenzahlung", "Bäckerei", Num("-1.234"), "EUR"],
]  # fmt: skip


def booked(account):
    return [(t.occurred_on, t.amount, t.description)
            for t in live(account).order_by("import_line")]  # fmt: skip


@pytest.mark.django_db
def test_an_xlsx_export_is_read_like_a_csv(world, account):
    rows = [*BANK_XLSX[:6], [Day(45306), Day(45306), "Kartenzahlung", "Bäckerei", Num("-4.2")]]
    job = run(world, account, "umsaetze.xlsx", xlsx_bytes(rows))
    assert (job.format, job.status, job.created_count) == ("xlsx", "done", 3)
    assert booked(account) == [
        (date(2024, 1, 5), Decimal("-12.34"), "Stadtwerke Strom"),
        (date(2024, 1, 8), Decimal("3150"), "Gehalt Januar"),
        (date(2024, 1, 15), Decimal("-4.2"), "Bäckerei"),
    ]
    assert live(account).first().import_line == 5  # the sheet's row number


@pytest.mark.django_db
def test_a_number_cell_is_never_taken_for_a_thousands_group(world, account):
    """1.234 stored as a number is one euro and 23.4 cents: too precise for EUR, a row error,
    never 1234 and never a guess about decimal marks."""
    job = run(world, account, "umsaetze.xlsx", xlsx_bytes(BANK_XLSX))
    assert (job.status, job.error_code) == ("failed", "import_rows_invalid")
    (error,) = job.errors
    assert (error["line"], error["column"], error["code"]) == (7, "Betrag", "amount_precision")


@pytest.mark.django_db
def test_an_xlsx_with_text_cells_follows_the_csv_rules(world, account):
    rows = [["Datum", "Verwendungszweck", "Betrag"],
            ["05.01.2024", "Miete", "-1.234,56"], ["08.01.2024", "Bonus", "250,00"]]  # fmt: skip
    job = run(world, account, "text.xlsx", xlsx_bytes(rows))
    assert job.status == "done"
    assert [a for _, a, _ in booked(account)] == [Decimal("-1234.56"), Decimal("250.00")]


@pytest.mark.django_db
def test_a_formula_in_a_mapped_column_is_a_row_error(world, account):
    rows = [["Date", "Description", "Amount"], ["2024-02-01", "Shop", Num("-5")],
            ["2024-02-02", "Sum", Formula("SUM(C2:C2)", "-5")]]  # fmt: skip
    job = run(world, account, "formula.xlsx", xlsx_bytes(rows))
    assert (job.status, job.error_code) == ("failed", "import_rows_invalid")
    assert job.errors == [{
        "line": 3, "column": "Amount", "code": "formula_cell",
        "message": "The cell holds a formula; Kore reads the values a bank exported: paste the "
        "values instead.", "value": "=SUM(C2:C2)",
    }]  # fmt: skip
    assert not live(account).exists()


@pytest.mark.django_db
def test_an_xlsx_zip_bomb_is_refused_before_it_is_unpacked(world, account):
    job = run(world, account, "bomb.xlsx", zip_bomb())
    assert (job.status, job.error_code) == ("failed", "import_file_too_large")
    assert "zip bomb" in job.error_message


@pytest.mark.django_db
def test_an_xlsx_with_an_external_entity_is_refused(world, account):
    prolog = '<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    rows = [["Date", "Description", "Amount"], ["2024-02-01", "&x;", Num("-5")]]
    job = run(world, account, "xxe.xlsx", xlsx_bytes(rows, sheet_prolog=prolog))
    assert (job.status, job.error_code) == ("failed", "import_xml_forbidden")
    assert "/etc" not in job.error_message
    assert not live(account).exists()


@pytest.mark.django_db
def test_a_damaged_xlsx_is_refused_without_library_text(world, account):
    data = xlsx_bytes([["Date", "Amount"], ["2024-01-01", Num("1")]])
    job = run(world, account, "cut.xlsx", data[: len(data) // 2])
    assert (job.status, job.error_code) == ("failed", "import_file_malformed")
    assert job.error_message == "The XLSX file is damaged (not a readable ZIP archive)."


@pytest.mark.django_db
def test_an_ods_export_is_read_with_exact_numbers_and_dates(world, account):
    rows = [["Kontoauszug"], ["Datum", "Text", "Betrag"],
            [OdsDate("2024-03-01"), "Miete", Num("-850.5")],
            [OdsDate("2024-03-02T23:30:00"), "Gehalt", Num("2100")],
            [OdsDate("2024-03-03"), "Zins", Num("0.1")]]  # fmt: skip
    tail = '<table:table-row table:number-rows-repeated="1048570"><table:table-cell ' \
           'table:number-columns-repeated="16384"/></table:table-row>'  # fmt: skip
    job = run(world, account, "auszug.ods", ods_bytes(rows, tail=tail))
    assert (job.format, job.status, job.created_count) == ("ods", "done", 3)
    assert booked(account) == [
        (date(2024, 3, 1), Decimal("-850.5"), "Miete"),
        (date(2024, 3, 2), Decimal("2100"), "Gehalt"),
        (date(2024, 3, 3), Decimal("0.1"), "Zins"),
    ]


@pytest.mark.django_db
def test_an_ods_row_repeated_without_end_is_refused(world, account):
    row = (
        '<table:table-row table:number-rows-repeated="500000"><table:table-cell '
        'office:value-type="string"><text:p>2024-01-01</text:p></table:table-cell>'
        '<table:table-cell office:value-type="float" office:value="1"/></table:table-row>'
    )
    job = run(world, account, "repeat.ods", ods_bytes([["Date", "Amount"]], tail=row))
    assert (job.status, job.error_code) == ("failed", "import_file_too_large")
    assert job.error_message == "Row 2 is repeated 500000 times."


@pytest.mark.django_db
def test_an_ods_formula_and_an_ods_entity_are_refused(world, account):
    rows = [["Date", "Amount"], ["2024-01-01", Formula("[.B1]*2", "4")]]
    job = run(world, account, "f.ods", ods_bytes(rows))
    assert (job.status, job.errors[0]["code"]) == ("failed", "formula_cell")
    prolog = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    job = run(world, account, "e.ods", ods_bytes([["Date", "Amount"]], prolog=prolog))
    assert (job.status, job.error_code) == ("failed", "import_xml_forbidden")


@pytest.mark.django_db
def test_old_xls_and_other_zip_files_are_named_not_misread(world, account):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
    job = run(world, account, "old.xls", ole)
    assert (job.status, job.error_code) == ("failed", "import_format_unknown")
    assert "Excel 97-2003" in job.error_message
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("statement.pdf", b"%PDF-1.7 not a spreadsheet")
    job = run(world, account, "statement.zip", archive.getvalue())
    assert (job.status, job.error_code) == ("failed", "import_format_unknown")
    assert job.error_message == "This ZIP archive is not an XLSX workbook (nor an ODS spreadsheet)."


@pytest.mark.django_db
def test_an_uploaded_spreadsheet_is_detected(world, account):
    url = f"/api/v1/orgs/{world.org.slug}/imports/"
    from django.core.files.uploadedfile import SimpleUploadedFile

    for name, data, fmt in [("a.xlsx", xlsx_bytes(BANK_XLSX), "xlsx"),
                            ("a.ods", ods_bytes([["Date", "Amount"]]), "ods")]:  # fmt: skip
        body = {"file": SimpleUploadedFile(name, data), "account": account.pk}
        response = client_for(world.member).post(url, body, format="multipart")
        assert response.status_code == 202, response.content
        assert response.json()["format"] == fmt


@pytest.mark.django_db
def test_bare_date_serials_and_yyyymmdd_numbers_in_the_date_column(world, account):
    rows = [["Date", "Description", "Amount"], [Num("45296"), "Serial", Num("-1")],
            [Num("20240108"), "Number", Num("-2")]]  # fmt: skip
    job = run(world, account, "serials.xlsx", xlsx_bytes(rows))
    assert (job.status, job.invalid_count) == ("failed", 1)  # one column, one date format
    assert job.errors[0]["line"] == 3
    rows[2][0] = Num("45299")
    job = run(world, account, "serials.xlsx", xlsx_bytes(rows))
    assert job.status == "done"
    assert [d for d, _, _ in booked(account)] == [date(2024, 1, 5), date(2024, 1, 8)]


@pytest.mark.django_db
def test_an_xlsx_whose_workbook_lists_no_sheet_is_damaged(world, account):
    data = xlsx_bytes([["Date", "Amount"], ["2024-01-01", Num("1")]])
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for part in source.infolist():
            body = source.read(part)
            if part.filename == "xl/workbook.xml":
                body = body.replace(b'<sheet name="Umsaetze" sheetId="1" r:id="rId1"/>', b"")
            target.writestr(part, body)
    job = run(world, account, "nosheet.xlsx", out.getvalue())
    assert (job.status, job.error_code, job.error_message) == (
        "failed", "import_file_malformed", "The XLSX file is damaged.",
    )  # fmt: skip
