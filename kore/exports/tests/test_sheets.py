"""``kore.exports.sheets``: the one writer of CSV and XLSX rows, and the check that it stays so."""

import ast
import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from kore.exports import sheets

ROOT = Path(__file__).resolve().parents[3]
# Where Kore's own code lives (tests excluded: they only read spreadsheets back).
SOURCES = ("kore", "config", "bench", "scripts", "deploy", "docker")
OWNER = "kore/exports/sheets.py"
# Libraries that write spreadsheets: importing one anywhere else bypasses neutralise().
SPREADSHEET_LIBRARIES = frozenset(
    {"openpyxl", "xlsxwriter", "xlwt", "pyexcel", "pyexcel_xlsx", "odf", "pandas", "tablib"}
)
WRITER_ATTRIBUTES = frozenset({"writer", "DictWriter"})
FRAME_WRITERS = frozenset({"to_csv", "to_excel"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("  =1+1", "'  =1+1"),
        ("\x01=1+1", "'\x01=1+1"),
        ("\u00a0=1+1", "'\u00a0=1+1"),
        ("plain = fine", "plain = fine"),
        (" plain", " plain"),
        ("", ""),
    ],
)
def test_neutralise(text, expected):
    assert sheets.neutralise(text) == expected


def test_csv_text_is_neutralised_and_values_stay_plain():
    out = io.StringIO()
    row = ["=1+1", Decimal("-12.30"), -3, date(2025, 3, 1), None, "-ref"]
    sheets.write_csv_rows(out, [row])
    assert out.getvalue().endswith("\r\n")
    assert next(csv.reader(io.StringIO(out.getvalue()))) == [
        "'=1+1", "-12.30", "-3", "2025-03-01", "", "'-ref",
    ]  # fmt: skip


def test_xlsx_text_never_becomes_a_formula_once_control_characters_go():
    book = sheets.xlsx_workbook()
    sheet = book.create_sheet("S")
    sheets.xlsx_append(sheet, ["\x01=1+1", "=2+2", Decimal("-1.50"), date(2025, 3, 1)])
    out = io.BytesIO()
    book.save(out)
    values = next(load_workbook(io.BytesIO(out.getvalue()))["S"].values)
    assert values[0] == "'=1+1"
    assert values[1] == "'=2+2"
    assert values[2] == -1.5
    assert values[3].date() == date(2025, 3, 1)


# --- Nobody else writes spreadsheets ------------------------------------------------------------
READERS = {"load_workbook"}


def _python_files():
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "tests" not in relative.parts:
                yield relative.as_posix(), path


def _writes_spreadsheets(tree: ast.AST) -> list[str]:
    """What in the module writes CSV or spreadsheets without going through ``sheets``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in SPREADSHEET_LIBRARIES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            if root in SPREADSHEET_LIBRARIES:
                # Reading a workbook (an import) writes nothing: only openpyxl's reader is free.
                if not (root == "openpyxl" and {a.name for a in node.names} <= READERS):
                    found.append(node.module)
            elif root == "csv":
                found += [f"csv.{a.name}" for a in node.names if a.name in WRITER_ATTRIBUTES]
        elif isinstance(node, ast.Attribute):
            base = node.value
            if node.attr in WRITER_ATTRIBUTES and isinstance(base, ast.Name) and base.id == "csv":
                found.append(f"csv.{node.attr}")
            elif node.attr in FRAME_WRITERS:
                found.append(f".{node.attr}()")
    return found


def test_the_scan_recognises_each_kind_of_writer():
    samples = {
        "import csv\ncsv.writer(f)": ["csv.writer"],
        "import csv as c\nfrom csv import DictWriter": ["csv.DictWriter"],
        "from openpyxl import Workbook": ["openpyxl"],
        "import xlsxwriter": ["xlsxwriter"],
        "frame.to_csv('x')": [".to_csv()"],
        "import csv\ncsv.reader(f)": [],
        "from openpyxl import load_workbook": [],
        "from openpyxl import load_workbook, Workbook": ["openpyxl"],
    }
    for source, expected in samples.items():
        assert _writes_spreadsheets(ast.parse(source)) == expected, source


def test_only_sheets_writes_csv_or_xlsx():
    files = dict(_python_files())
    assert "kore/web/views/reports.py" in files  # the scan sees the app
    assert OWNER in files
    writers = {
        name: found
        for name, path in files.items()
        if (found := _writes_spreadsheets(ast.parse(path.read_text(), filename=name)))
    }
    assert set(writers) == {OWNER}, (
        f"{writers}: write CSV/XLSX rows through kore.exports.sheets (it neutralises formulas)"
    )
