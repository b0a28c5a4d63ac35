"""Spreadsheets (XLSX, ODS) read like CSV: the first sheet's rows become text fields and go
through the same header search, mapping and value checks as a CSV (``TableReader``).

What a spreadsheet brings on top of a CSV, and how it is met:

* A ZIP archive: refused before any part is parsed when it holds too many parts, a part
  larger than ``PART_MAX_BYTES`` unpacked, or one that unpacks more than ``RATIO_MAX`` times
  its packed size (a zip bomb); a part that unpacks past its declared size fails its check.
* XML: a DOCTYPE or entity declaration in any part refuses the file (``import_xml_forbidden``);
  parsing goes through defusedxml, which refuses them too.
* Numbers: a number cell is read from its decimal text (ODS keeps it; XLSX keeps a binary
  float, read back through its shortest decimal text: 12.339999999999999 is 12.34), never
  rounded, and never subject to the decimal-mark guess a text amount gets.
* Dates: a date cell is its calendar date (a date-time keeps its time for the zone rules); a
  whole number in the date column is a date serial (days since 1899-12-30) unless it is past
  9999-12-31, like 20240105, which is read as text.
* Formulas: a formula in a mapped column is a row error (``formula_cell``): Kore reads the
  values a bank exported, not a calculation someone added; paste the values instead.
* ODS repeats: rows and cells repeated by count are expanded up to ``MAX_COLUMNS`` cells and
  ``REPEAT_MAX`` rows; blank repeats (a sheet's unused tail) cost nothing.
"""

import re
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from kore.core.money import MoneyError, check_precision

from .base import ImportFileError, Row, RowError, ValueProblem, date_check
from .csv_reader import MAX_COLUMNS, PREAMBLE_LINES, SAMPLE_ROWS, TableReader

PARTS_MAX = 1000
PART_MAX_BYTES = 512 * 1024 * 1024
RATIO_MAX = 150  # bank sheets pack 5-20 times; zip bombs thousands of times
REPEAT_MAX = 10_000  # copies of one non-blank ODS row
_PROLOG_BYTES = 64 * 1024
_EPOCH = date(1899, 12, 30)  # spreadsheet date serials count days from here (1900 system)
_SERIAL_MAX = 2_958_465  # 9999-12-31; 20240105 (a yyyymmdd number) is past it and read as text
_DOCTYPE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_OOXML_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


class CellNumber(str):
    """A number cell's exact decimal text: read as is, whatever the file's decimal mark."""


class CellFormula(str):
    """A formula cell (its formula text)."""


def number_text(value: int | float | Decimal) -> CellNumber:
    """The shortest decimal text that reads back as ``value`` (repr of a float), plain."""
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return CellNumber(format(number, "f"))


def _date_text(value: date | datetime) -> str:
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.replace(microsecond=0).isoformat(sep=" ")
    return value.isoformat()


def zip_check(opener: Callable[[], BinaryIO], what: str) -> list[str]:
    """The archive's part names, once its sizes and XML prologs are known to be safe."""
    with opener() as raw:
        try:
            archive = zipfile.ZipFile(raw)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise ImportFileError(
                f"The {what} file is damaged (not a readable ZIP archive).",
                code="import_file_malformed",
            ) from exc
        with archive:
            parts = archive.infolist()
            if len(parts) > PARTS_MAX:
                raise ImportFileError(f"The {what} file holds more than {PARTS_MAX} parts.",
                                      code="import_file_too_large")  # fmt: skip
            for part in parts:
                packed = max(part.compress_size, 1)
                if part.file_size > PART_MAX_BYTES or part.file_size > packed * RATIO_MAX:
                    raise ImportFileError(
                        f"The {what} file unpacks to far more than its size (a zip bomb?); "
                        "nothing was read.",
                        code="import_file_too_large",
                    )
            for part in parts:
                if not part.filename.endswith((".xml", ".rels")):
                    continue
                try:
                    with archive.open(part) as member:
                        prolog = member.read(_PROLOG_BYTES)
                except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
                    raise ImportFileError(f"The {what} file is damaged.",
                                          code="import_file_malformed") from exc  # fmt: skip
                if _DOCTYPE.search(prolog):
                    raise ImportFileError(
                        f"The {what} file declares a DOCTYPE or entities, which Kore never reads.",
                        code="import_xml_forbidden",
                    )
            return [part.filename for part in parts]


class SheetReader(TableReader):
    """The common part of the spreadsheet readers: cells as text, formulas refused, numbers
    read from their decimal text."""

    what = "spreadsheet"

    def __init__(
        self, opener: Callable[[], BinaryIO], *, currency: str, mapping: dict[str, object]
    ) -> None:
        super().__init__(currency=currency, mapping=mapping)
        self.opener = opener
        self.parts = zip_check(opener, self.what)
        self._check_parts()
        head: list[tuple[int, list[str]]] = []
        for record in self._records():
            head.append(record)
            if len(head) >= PREAMBLE_LINES + SAMPLE_ROWS:
                break
        if not head:
            raise ImportFileError("The first sheet is empty.", code="import_file_empty")
        self._setup(head)

    def _check_parts(self) -> None:
        raise NotImplementedError

    def _sheet_rows(self) -> Iterator[tuple[int, list[str]]]:
        raise NotImplementedError

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        try:
            yield from self._sheet_rows()
        except DefusedXmlException as exc:
            raise ImportFileError(
                f"The {self.what} file declares a DOCTYPE or entities, which Kore never reads.",
                code="import_xml_forbidden",
            ) from exc
        except ImportFileError:
            raise
        except Exception as exc:  # XML, ZIP or a part's shape: the library's text stays out
            raise ImportFileError(f"The {self.what} file is damaged.",
                                  code="import_file_malformed") from exc  # fmt: skip

    def _decimal_values(self, values: list[str]) -> list[str]:
        return [v for v in values if not isinstance(v, CellNumber)]

    def _row(self, line: int, fields: list[str]) -> Row | RowError:
        for role, at in self.index.items():
            if at < len(fields) and isinstance(fields[at], CellFormula):
                return RowError(
                    line, self.columns[role], "formula_cell",
                    "The cell holds a formula; Kore reads the values a bank exported: paste the "
                    "values instead.",
                    str(fields[at])[:100],
                )  # fmt: skip
        return super()._row(line, fields)

    def _date(self, text: str) -> date:
        if isinstance(text, CellNumber) and "." not in text and 0 < int(text) <= _SERIAL_MAX:
            # A date stored as a bare serial (no date style): days since 1899-12-30.
            return date_check(_EPOCH + timedelta(days=int(text)))
        return super()._date(text)

    def _amount_text(self, text: str) -> Decimal:
        if isinstance(text, CellNumber):
            return _number_amount(text, self.currency)
        return super()._amount_text(text)

    def _amount(self, fields: list[str]) -> Decimal:
        at = self._amount_at
        if at is not None and isinstance(fields[at], CellNumber):
            return _number_amount(fields[at], self.currency)
        return super()._amount(fields)


def _number_amount(text: str, currency: str) -> Decimal:
    value = Decimal(text)
    try:
        check_precision(value, currency)
    except MoneyError as exc:
        code = "invalid_amount" if exc.code == "invalid" else exc.code
        raise ValueProblem(code, f"{exc.message} Got {text[:40]!r}.") from exc
    return value


class XlsxReader(SheetReader):
    """The first worksheet of an Office Open XML workbook (openpyxl, read-only and streaming)."""

    what = "XLSX"

    def _check_parts(self) -> None:
        if "xl/workbook.xml" not in self.parts:
            raise ImportFileError(
                "This ZIP archive is not an XLSX workbook (nor an ODS spreadsheet).",
                code="import_format_unknown",
            )

    def _sheet_rows(self) -> Iterator[tuple[int, list[str]]]:
        from openpyxl import load_workbook

        with self.opener() as raw:
            book = load_workbook(raw, read_only=True, data_only=False, keep_links=False)
            try:
                sheet = book.worksheets[0]
                for number, row in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS), start=1):
                    yield number, [_xlsx_text(cell) for cell in row]
            finally:
                book.close()


def _xlsx_text(cell: Any) -> str:
    value = cell.value
    if value is None:
        return ""
    kind = getattr(cell, "data_type", "s")
    if kind == "f" or (isinstance(value, str) and kind != "s" and value.startswith("=")):
        return CellFormula(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        return number_text(value)
    if isinstance(value, datetime | date):
        return _date_text(value)
    if isinstance(value, time):
        return value.isoformat()
    return str(value)


class OdsReader(SheetReader):
    """The first table of an OpenDocument spreadsheet, streamed from content.xml."""

    what = "ODS"

    def _check_parts(self) -> None:
        if "content.xml" not in self.parts:
            raise ImportFileError("This ODS file has no content.", code="import_file_malformed")

    def _sheet_rows(self) -> Iterator[tuple[int, list[str]]]:
        row_tag, cell_tag = f"{{{_TABLE}}}table-row", f"{{{_TABLE}}}table-cell"
        covered_tag, table_tag = f"{{{_TABLE}}}covered-table-cell", f"{{{_TABLE}}}table"
        repeat_rows, repeat_cols = (
            f"{{{_TABLE}}}number-rows-repeated",
            (f"{{{_TABLE}}}number-columns-repeated"),
        )
        with (
            self.opener() as raw,
            zipfile.ZipFile(raw) as archive,
            archive.open("content.xml") as content,
        ):
            number = 0
            depth = 0  # inside the first table
            tables = 0
            for event, element in iterparse(content, events=("start", "end"),
                                            forbid_dtd=True):  # fmt: skip
                tag = element.tag
                if tag == table_tag:
                    if event == "start":
                        tables += 1
                        depth = 1 if tables == 1 else 0
                    elif tables == 1:
                        return
                    continue
                if event != "end" or tag != row_tag or not depth:
                    continue
                fields: list[str] = []
                for cell in element:
                    if cell.tag not in (cell_tag, covered_tag):
                        continue
                    text = _ods_text(cell)
                    count = int(cell.get(repeat_cols, "1"))
                    count = min(count, MAX_COLUMNS - len(fields))
                    fields.extend([text] * count)
                    if len(fields) >= MAX_COLUMNS:
                        break
                while fields and fields[-1] == "":
                    fields.pop()  # the sheet's unused columns
                copies = int(element.get(repeat_rows, "1"))
                element.clear()
                if not fields:
                    number += copies
                    continue
                if copies > REPEAT_MAX:
                    raise ImportFileError(
                        f"Row {number + 1} is repeated {copies} times.",
                        code="import_file_too_large",
                    )
                for _ in range(copies):
                    number += 1
                    yield number, fields


def _ods_text(cell: Any) -> str:
    kind = str(cell.get(f"{{{_OFFICE}}}value-type", ""))
    if cell.get(f"{{{_TABLE}}}formula"):
        return CellFormula(str(cell.get(f"{{{_TABLE}}}formula")))
    if kind in ("float", "currency", "percentage"):
        value = str(cell.get(f"{{{_OFFICE}}}value", ""))
        try:
            return CellNumber(format(Decimal(value), "f"))
        except InvalidOperation:
            return value
    if kind == "date":
        value = str(cell.get(f"{{{_OFFICE}}}date-value", ""))
        return value.replace("T", " ").removesuffix(" 00:00:00")
    if kind == "boolean":
        return "TRUE" if cell.get(f"{{{_OFFICE}}}boolean-value") == "true" else "FALSE"
    paragraphs = cell.findall(f"{{{_TEXT}}}p")
    return "\n".join("".join(p.itertext()) for p in paragraphs)
