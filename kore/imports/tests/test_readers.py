"""Readers on the fixture files: several banks' layouts, and broken files' error codes."""

from datetime import date
from decimal import Decimal

import pytest

from kore.imports.readers import ImportFileError, Row, RowError, format_detect, reader_open

from .conftest import FIXTURES


def read(name: str, mapping: dict[str, object] | None = None) -> list[Row | RowError]:
    path = FIXTURES / name
    fmt = format_detect(path.read_bytes()[:4096], name)
    reader = reader_open(fmt, lambda: path.open("rb"), currency="EUR",
                         size=path.stat().st_size, mapping=mapping or {})  # fmt: skip
    return list(reader.rows())


@pytest.mark.parametrize(
    ("name", "first"),
    [
        (
            "csv_de_sparkasse.csv",
            Row(
                2,
                date(2024, 1, 2),
                Decimal("-1234.56"),
                "Miete Januar",
                "Hausverwaltung Müller",
                currency="EUR",
                account_ref="DE001",
            ),
        ),
        ("csv_uk_barclays.csv", Row(2, date(2024, 1, 13), Decimal("-1024.10"), "TESCO STORES")),
        (
            "csv_us_chase.csv",
            Row(2, date(2024, 1, 5), Decimal("-45.99"), "AMAZON MKTPL", notes="Shopping"),
        ),
        (
            "csv_fr_tab.csv",
            Row(2, date(2024, 2, 5), Decimal("-4.50"), "Carte Café Crème", "", "REF1"),
        ),
        (
            "statement.ofx",
            Row(1, date(2024, 1, 5), Decimal("-12.50"), "Weekly shop", "GROCER", "F1"),
        ),
        ("statement.qfx", Row(1, date(2024, 2, 3), Decimal("-20.00"), "FUEL", "FUEL", "Q1")),
        (
            "camt053.xml",
            Row(1, date(2024, 3, 2), Decimal("-42.00"), "Strom März", "Stadtwerke", "C1"),
        ),
    ],
)
def test_bank_layouts_are_read(name, first):
    rows = read(name)
    texts = ("line", "occurred_on", "amount", "description", "counterparty", "reference")
    assert [getattr(rows[0], k) for k in texts] == [getattr(first, k) for k in texts]
    assert all(isinstance(r, Row) for r in rows)


def test_declared_locale_reads_us_dates_as_month_first():
    rows = read("csv_us_chase.csv", {"locale": "en-US"})
    assert rows[2].occurred_on == date(2024, 1, 13)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("empty.csv", "import_file_empty"),
        ("binary.csv", "import_file_binary"),
        ("truncated.csv", "import_csv_malformed"),
        ("wrong_encoding.csv", "import_encoding_error"),
        ("xml_bomb.xml", "import_xml_forbidden"),
        ("camt_external_entity.xml", "import_xml_forbidden"),
    ],
)
def test_broken_files_fail_with_a_clear_code(name, code):
    with pytest.raises(ImportFileError) as raised:
        read(name)
    assert raised.value.code == code


@pytest.mark.parametrize(
    ("name", "codes"),
    [
        ("bad_dates.csv", ["invalid_date", "invalid_date"]),
        ("mixed_delimiters.csv", ["column_count"]),
        ("dates_0001_9999.csv", ["date_out_of_range", "date_out_of_range"]),
        ("amounts_40_digits.csv", ["amount_too_large"]),
    ],
)
def test_bad_rows_are_row_errors_with_line_and_column(name, codes):
    errors = [r for r in read(name) if isinstance(r, RowError)]
    assert [e.code for e in errors] == codes
    assert all(e.line >= 2 for e in errors)


def test_a_declared_encoding_the_bytes_contradict_is_not_trusted():
    """UTF-8 declared for a CP1252 file, Latin-1 declared for a UTF-8 one: the bytes win."""
    rows = read("csv_de_sparkasse.csv", {"encoding": "utf-8"})
    assert rows[0].counterparty == "Hausverwaltung Müller"
    utf8 = FIXTURES / "csv_de_sparkasse.csv"
    text = utf8.read_bytes().decode("cp1252").encode("utf-8")
    reader = reader_open("csv", lambda: __import__("io").BytesIO(text), currency="EUR",
                         size=len(text), mapping={"encoding": "latin-1"})  # fmt: skip
    assert next(iter(reader.rows())).counterparty == "Hausverwaltung Müller"  # not "MÃ¼ller"
    assert reader.mapping["encoding"] == "utf-8"


def test_ten_thousand_columns_are_refused(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(10_000)) + "\n")
    with pytest.raises(ImportFileError) as raised:
        reader_open("csv", lambda: path.open("rb"), currency="EUR", size=1, mapping={})
    assert raised.value.code == "import_too_many_columns"


def test_a_one_megabyte_line_is_refused(tmp_path):
    path = tmp_path / "long.csv"
    path.write_bytes(b"Date,Description,Amount\n2024-01-01," + b"x" * 1024 * 1024 + b",-1.00\n")
    with pytest.raises(ImportFileError) as raised:
        reader_open("csv", lambda: path.open("rb"), currency="EUR", size=1, mapping={})
    assert (raised.value.code, raised.value.line) == ("import_line_too_long", 2)
