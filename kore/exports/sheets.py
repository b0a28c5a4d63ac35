"""The one place Kore writes spreadsheet rows, CSV and XLSX alike.

Every text cell goes through ``neutralise``, so a spreadsheet never runs a name or a description
as a formula (OWASP "CSV injection"): ``=HYPERLINK(…)`` arrives as the text ``'=HYPERLINK(…)``.
Numbers, dates and ids are values, never formulas: pass them as ``int``, ``Decimal`` or ``date``
and they are written plain (a negative amount stays a number). Nothing else in Kore uses
``csv.writer`` or writes a workbook; ``tests/test_sheets.py`` finds any module that does.
"""

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

Cell = str | int | Decimal | date | None

# What makes a spreadsheet read a cell as a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Leading blanks and control characters a spreadsheet (or the XLSX writer below) may drop before
# it looks at the first character: " =1+1" and "\x01=1+1" are neutralised too.
_SKIPPED_LEAD = re.compile(r"^[\s\x00-\x1f]*")
# Control characters are not allowed in XML: openpyxl's own ILLEGAL_CHARACTERS_RE (openpyxl itself
# is imported only when a workbook is written: ~10 MB per process otherwise).
_XML_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


class _Sheet(Protocol):
    def append(self, values: list[Any], /) -> Any: ...


def neutralise(value: str) -> str:
    """Free text a spreadsheet would read as a formula gets a leading apostrophe."""
    if value.startswith(FORMULA_STARTS):
        return "'" + value
    first = value[:1]
    blank_first = bool(first) and (first <= " " or first.isspace())  # rare: look past them
    if blank_first and _SKIPPED_LEAD.sub("", value, count=1).startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_cell(value: Cell) -> Cell:
    return neutralise(value) if isinstance(value, str) else value


def _xlsx_cell(value: Cell) -> Cell:
    # Stripped first: removing a control character must not uncover a formula.
    return neutralise(_XML_ILLEGAL.sub("", value)) if isinstance(value, str) else value


class _Line:
    """A file-like ``write`` that hands back what csv.writer wrote."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Sequence[Cell]]) -> Iterator[str]:
    """Each row as one CSV line (CRLF), text cells neutralised: for streaming responses."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    for row in rows:
        yield str(writer.writerow([_csv_cell(c) for c in row]))


def write_csv_rows(out: _Writable, rows: Iterable[Sequence[Cell]]) -> None:
    """Write the rows to ``out`` (a file, an HttpResponse) as CSV, text cells neutralised."""
    for line in csv_lines(rows):
        out.write(line)


def xlsx_workbook() -> Any:
    """A write-only openpyxl workbook; fill its sheets with ``xlsx_append``."""
    from openpyxl import Workbook  # see _XML_ILLEGAL

    return Workbook(write_only=True)


def xlsx_append(sheet: _Sheet, row: Sequence[Cell]) -> None:
    """One row of a write-only sheet, text cells cleaned of XML-illegal characters, neutralised."""
    sheet.append([_xlsx_cell(c) for c in row])
