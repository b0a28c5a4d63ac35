"""CSV statements: encoding, delimiter, columns, date format and decimal mark detected (or
declared in the mapping), read line by line with every line and field bounded."""

import codecs
import csv
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, BinaryIO

from .base import (
    ImportFileError,
    Row,
    RowError,
    ValueProblem,
    amount_parse,
    date_parse,
    text_clean,
)

SNIFF_BYTES = 64 * 1024
SAMPLE_ROWS = 200
MAX_LINE_BYTES = 64 * 1024
MAX_COLUMNS = 200
DELIMITERS = (";", ",", "\t")
ROLES = ("date", "amount", "debit", "credit", "description", "counterparty", "reference")
OPTIONS = ("locale", "date_format", "decimal", "delimiter", "encoding")
# locale → (decimal mark, date formats tried first)
LOCALES: dict[str, tuple[str, tuple[str, ...]]] = {
    "en-US": (".", ("%m/%d/%Y", "%m/%d/%y")),
    "en-GB": (".", ("%d/%m/%Y", "%d/%m/%y")),
    "de-DE": (",", ("%d.%m.%Y", "%d.%m.%y")),
    "de-CH": (".", ("%d.%m.%Y", "%d.%m.%y")),
    "fr-FR": (",", ("%d/%m/%Y", "%d/%m/%y")),
    "es-ES": (",", ("%d/%m/%Y", "%d-%m-%Y")),
    "it-IT": (",", ("%d/%m/%Y", "%d-%m-%Y")),
    "nl-NL": (",", ("%d-%m-%Y", "%d/%m/%Y")),
}
DATE_FORMATS = (
    "%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%Y/%m/%d", "%Y%m%d",
    "%d.%m.%y", "%d/%m/%y", "%m/%d/%y",
)  # fmt: skip
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1")
# Header names banks use, lower-cased, for each role.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "date": ("date", "booking date", "buchungstag", "buchungsdatum", "datum", "transaction date",
             "posted date", "posting date", "date opération", "date operation", "fecha", "data",
             "trans. date", "date de l'opération"),
    "amount": ("amount", "betrag", "montant", "importe", "importo", "bedrag", "umsatz",
               "amount (eur)", "betrag (eur)", "value"),
    "debit": ("debit", "débit", "soll", "withdrawal", "withdrawals", "paid out", "money out",
              "debit amount", "cargo"),
    "credit": ("credit", "crédit", "haben", "deposit", "deposits", "paid in", "money in",
               "credit amount", "abono"),
    "description": ("description", "verwendungszweck", "buchungstext", "libellé", "libelle",
                    "memo", "details", "narrative", "concepto", "transaction description", "text"),
    "counterparty": ("payee", "counterparty", "beguenstigter/zahlungspflichtiger", "empfänger",
                     "auftraggeber / empfänger", "name", "bénéficiaire", "merchant"),
    "reference": ("reference", "referenz", "ref", "bank reference", "kundenreferenz",
                  "transaction id", "id", "fitid", "référence"),
}  # fmt: skip
_COMMA_DECIMAL = re.compile(r"^[^.]*,\d{1,2}-?\)?$|^\d{1,3}(\.\d{3})+(,\d+)?-?$")


def encoding_detect(head: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as UTF-8, else CP1252 or Latin-1."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(
            "UTF-16 files are not supported; save the CSV as UTF-8.",
            code="import_encoding_unsupported",
        )
    if b"\x00" in head or sum(b < 9 or 13 < b < 32 for b in head) > len(head) // 100:
        raise ImportFileError("This is not a text file.", code="import_file_binary")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    try:
        head.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"  # bytes CP1252 leaves undefined (0x81, 0x8D, …)
    return "cp1252"


def delimiter_detect(header: str) -> str:
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    if not counts[best]:
        raise ImportFileError(
            "The header has no ; , or tab delimiter.", code="import_delimiter_unknown", line=1
        )
    return best


def lines_read(raw: BinaryIO, encoding: str) -> Iterator[str]:
    """Decoded lines, each at most MAX_LINE_BYTES; a bad byte fails the file with its line."""
    decoder = codecs.getincrementaldecoder(encoding)()
    number = 0
    while chunk := raw.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(chunk) > MAX_LINE_BYTES:
            raise ImportFileError(
                f"Line {number} is longer than {MAX_LINE_BYTES} bytes.",
                code="import_line_too_long",
                line=number,
            )
        try:
            yield decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"Line {number} is not valid {encoding}; declare the file's encoding.",
                code="import_encoding_error",
                line=number,
            ) from exc
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            "The file ends inside a character (truncated?).", code="import_encoding_error",
            line=number,
        ) from exc  # fmt: skip


def mapping_resolve(header: list[str], declared: dict[str, object]) -> dict[str, str]:
    """Role → column header: declared columns win, then known header names."""
    by_lower = {name.strip().lower(): name for name in header}
    resolved: dict[str, str] = {}
    for role in ROLES:
        wanted = declared.get(role)
        if isinstance(wanted, str) and wanted:
            if wanted not in header:
                raise ImportFileError(
                    f"The mapping names column {wanted!r} for {role}; the header has no such "
                    "column.",
                    code="import_mapping_invalid",
                    line=1,
                )
            resolved[role] = wanted
            continue
        for synonym in SYNONYMS[role]:
            if synonym in by_lower and by_lower[synonym] not in resolved.values():
                resolved[role] = by_lower[synonym]
                break
    if "date" not in resolved or not (
        "amount" in resolved or ("debit" in resolved and "credit" in resolved)
    ):
        raise ImportFileError(
            "Map the date and amount (or debit and credit) columns; the header is: "
            + ", ".join(repr(h) for h in header[:20])[:300],
            code="import_mapping_incomplete",
            line=1,
        )
    return resolved


def _date_format_detect(values: list[str], preferred: tuple[str, ...]) -> str:
    for fmt in (*preferred, *DATE_FORMATS):
        try:
            for value in values:
                date_parse(value, fmt)
        except ValueProblem as problem:
            if problem.code == "date_out_of_range":
                return fmt  # the format fits; the row reports its own range error
            continue
        return fmt
    return DATE_FORMATS[0]  # nothing fits: every row reports invalid_date


def _decimal_detect(values: list[str]) -> str:
    return "," if any(_COMMA_DECIMAL.match(v.strip()) for v in values if v.strip()) else "."


class CsvReader:
    """Reads a CSV statement; ``mapping`` is what was used (saved for the account's next file)."""

    def __init__(
        self, opener: Callable[[], BinaryIO], *, currency: str, mapping: dict[str, object]
    ) -> None:
        self.opener = opener
        self.currency = currency
        with opener() as raw:
            head = raw.read(SNIFF_BYTES)
        if not head.strip():
            raise ImportFileError("The file is empty.", code="import_file_empty")
        detected = encoding_detect(head)  # refuses binary and UTF-16 whatever was declared
        declared = mapping.get("encoding")
        self.encoding = declared if isinstance(declared, str) and declared else detected
        self.header, sample = self._sample(mapping)
        self.columns = mapping_resolve(self.header, mapping)
        self.index = {role: self.header.index(col) for role, col in self.columns.items()}
        locale = mapping.get("locale")
        decimal, preferred = LOCALES.get(locale, ("", ())) if isinstance(locale, str) else ("", ())
        amounts = [r[self.index[k]] for r in sample for k in ("amount", "debit", "credit")
                   if k in self.index and len(r) > self.index[k]]  # fmt: skip
        declared_decimal = mapping.get("decimal")
        self.decimal: str = (
            declared_decimal if isinstance(declared_decimal, str) and declared_decimal else decimal
        ) or _decimal_detect(amounts)
        declared_format = mapping.get("date_format")
        dates = [r[self.index["date"]] for r in sample
                 if len(r) > self.index["date"] and r[self.index["date"]].strip()]  # fmt: skip
        self.date_format = (
            declared_format
            if isinstance(declared_format, str) and declared_format
            else _date_format_detect(dates, preferred)
        )
        self._date_at = self.index["date"]
        self._texts = tuple(
            (role, self.index.get(role)) for role in ("description", "counterparty", "reference")
        )
        self.mapping: dict[str, object] = {
            **self.columns,
            "delimiter": self.delimiter,
            "decimal": self.decimal,
            "date_format": self.date_format,
            "encoding": self.encoding,
        }

    def _reader(self, raw: BinaryIO) -> Any:
        return csv.reader(lines_read(raw, self.encoding), delimiter=self.delimiter, strict=True)

    def _sample(self, mapping: dict[str, object]) -> tuple[list[str], list[list[str]]]:
        with self.opener() as raw:
            lines = lines_read(raw, self.encoding)
            first = next(lines, "")
            declared = mapping.get("delimiter")
            self.delimiter = (
                declared if isinstance(declared, str) and declared in DELIMITERS
                else delimiter_detect(first)
            )  # fmt: skip
            header = self._header(first)
            reader = csv.reader(lines, delimiter=self.delimiter, strict=True)
            sample = []
            try:
                for row in reader:
                    sample.append(row)
                    if len(sample) >= SAMPLE_ROWS:
                        break
            except csv.Error:
                pass  # reported with its line by rows()
        return header, sample

    def _header(self, first: str) -> list[str]:
        if first.count(self.delimiter) >= MAX_COLUMNS:
            raise ImportFileError(
                f"More than {MAX_COLUMNS} columns.", code="import_too_many_columns", line=1
            )
        try:
            header = next(csv.reader([first], delimiter=self.delimiter, strict=True), [])
        except csv.Error as exc:
            raise ImportFileError(
                f"The header line is malformed: {exc}.", code="import_csv_malformed", line=1
            ) from exc
        return [name.strip() for name in header]

    def rows(self) -> Iterator[Row | RowError]:
        with self.opener() as raw:
            reader = self._reader(raw)
            try:
                next(reader, None)  # the header
                for fields in reader:
                    if not "".join(fields).strip():
                        continue  # blank lines
                    yield self._row(reader.line_num, fields)
            except csv.Error as exc:
                raise ImportFileError(
                    f"Line {reader.line_num}: {exc} (truncated or badly quoted?).",
                    code="import_csv_malformed",
                    line=reader.line_num,
                ) from exc

    def _row(self, line: int, fields: list[str]) -> Row | RowError:
        if len(fields) != len(self.header):
            return RowError(
                line, "", "column_count",
                f"{len(fields)} columns where the header has {len(self.header)}.",
            )  # fmt: skip
        # Hot path (once per row): the roles in a fixed order, the first problem reported.
        role = "date"
        try:
            occurred_on = date_parse(fields[self._date_at], self.date_format)
            role = "amount"
            amount = self._amount(fields)
            texts = []
            for role, at in self._texts:
                texts.append("" if at is None else text_clean(fields[at], role))
        except ValueProblem as problem:
            column = self.columns.get(role) or self.columns.get("debit", role)
            return RowError(line, column, problem.code, problem.message)
        return Row(line, occurred_on, amount, *texts)

    def _amount(self, fields: list[str]) -> "Decimal":
        if "amount" in self.index:
            return amount_parse(
                fields[self.index["amount"]], decimal=self.decimal, currency=self.currency
            )
        debit, credit = fields[self.index["debit"]], fields[self.index["credit"]]
        if not debit.strip() and not credit.strip():
            raise ValueProblem("invalid_amount", "Neither debit nor credit has a value.")
        total = Decimal(0)
        if credit.strip():
            total += amount_parse(credit, decimal=self.decimal, currency=self.currency)
        if debit.strip():
            total -= abs(amount_parse(debit, decimal=self.decimal, currency=self.currency))
        return total
