"""What every reader yields, and the value parsing they share (dates, amounts, text)."""

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter
from typing import Any, BinaryIO

from kore.core.exceptions import KoreError
from kore.core.money import MoneyError, check_precision, minor_units, parse_amount

DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2100, 12, 31)
VALUE_SHOWN = 100  # characters of a bad value kept in the job's report
TEXT_MAX = {"description": 500, "counterparty": 200, "reference": 200}
_LEADING_ZEROS = re.compile(r"^(-?)0+(?=\d)")
_CURRENCY_MARKS = "€$£¥ \u00a0\u202f'"
# The shape most statements use ("-1234.56"): no sign tricks, separators, symbols or leading
# zeros, so amount_parse's general path would return exactly Decimal(text); 16 integer digits at
# most (MAX_INTEGER_DIGITS). Group 1 holds the decimals.
_PLAIN_AMOUNT = {
    ".": re.compile(r"-?(?:0|[1-9][0-9]{0,15})(?:\.([0-9]+))?"),
    ",": re.compile(r"-?(?:0|[1-9][0-9]{0,15})(?:,([0-9]+))?"),
}


class ImportFileError(KoreError):
    """The file as a whole cannot be imported; nothing of it is written."""

    status_code = 422
    code = "import_file_invalid"
    message = "The file cannot be imported."

    def __init__(self, message: str, *, code: str, line: int | None = None) -> None:
        super().__init__(message, code=code)
        self.line = line


BANK_STATES = ("booked", "pending", "reverted")
# Formats read whole (OFX, MT940/942, QIF): a statement file is a few MB, this bounds a hostile one.
WHOLE_FILE_MAX_BYTES = 50 * 1024 * 1024
# A memo that is a reference, not a description: one token with a digit ("REF:00912-A",
# "000123456789"), or digits and punctuation only.
_REFERENCE_LIKE = re.compile(r"(?=\S*\d)\S+|[\d\W_]+")


def whole_file_read(opener: Callable[[], BinaryIO], size: int, kind: str) -> bytes:
    """The bytes of a file read whole, refused past ``WHOLE_FILE_MAX_BYTES``."""
    if size > WHOLE_FILE_MAX_BYTES:
        raise ImportFileError(
            f"{kind} files are at most {WHOLE_FILE_MAX_BYTES // (1024 * 1024)} MB.",
            code="import_file_too_large",
        )
    with opener() as raw:
        data = raw.read(WHOLE_FILE_MAX_BYTES + 1)
    if len(data) > WHOLE_FILE_MAX_BYTES:
        raise ImportFileError(
            f"{kind} files are at most {WHOLE_FILE_MAX_BYTES // (1024 * 1024)} MB.",
            code="import_file_too_large",
        )
    return data


def text_decode(data: bytes, fallback: str = "cp1252") -> str:
    """UTF-8 when the bytes are UTF-8 (a BOM dropped), else ``fallback``; never a surrogate."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode(fallback, errors="replace")


def reference_like(text: str) -> bool:
    """Whether a memo is a reference number rather than words (then the payee describes)."""
    return bool(text) and _REFERENCE_LIKE.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class Row:
    """One statement line, parsed. ``line`` is the source line (CSV) or entry number (XML, OFX).

    What the bank said beyond the four texts, for the booking step to judge (readers report, they
    never decide): ``currency`` is the row's currency as the file states it ("" when the file does
    not say; the account's is meant); ``original_amount``/``original_currency`` an amount the bank
    also gives in another currency; ``bank_state`` one of ``BANK_STATES`` (cancelled rows are
    ``reverted``); ``bank_id`` the bank's own transaction id (FITID, AcctSvcrRef, …);
    ``account_ref`` the account number or IBAN of the statement holding the row; ``notes`` and
    ``metadata`` the rest of the bank's text, kept rather than dropped; ``category`` the name in a
    mapped category column.
    """

    line: int
    occurred_on: date
    amount: Decimal
    description: str = ""
    counterparty: str = ""
    reference: str = ""
    currency: str = ""
    original_amount: Decimal | None = None
    original_currency: str = ""
    bank_state: str = "booked"
    bank_id: str = ""
    account_ref: str = ""
    notes: str = ""
    metadata: dict[str, str] | None = None
    category: str = ""  # a mapped category column's text (CSV, spreadsheets)


_ROW_FIELDS = tuple(f.name for f in fields(Row))
_ROW_VALUES = attrgetter(*_ROW_FIELDS)
_ROW_AT = {name: at for at, name in enumerate(_ROW_FIELDS)}


def row_replace(row: Row, **changes: Any) -> Row:
    """``dataclasses.replace(row, **changes)`` at a third of its cost (once per row of a file)."""
    values = list(_ROW_VALUES(row))
    for name, value in changes.items():
        values[_ROW_AT[name]] = value
    return Row(*values)


STATEMENT_KINDS = ("statement", "intraday", "notification")


@dataclass(slots=True)
class Statement:
    """One account's statement in a file, as the bank states it: what ``reader.statements``
    lists, in file order, once ``rows()`` has run to its end (OFX, CAMT, MT940/942 and QIF
    readers; a CSV has none).

    ``account_ref`` is the account number or IBAN the file names (the rows of this statement
    carry the same ``account_ref``); ``currency`` the statement's currency ("" when unstated);
    ``kind`` one of ``STATEMENT_KINDS`` (an intraday report or a notification is not a closed
    statement); ``opening_*``/``closing_*`` the booked balances the bank states (``None`` when
    it states none: OFX gives only a closing ``LEDGERBAL``); ``start``/``end`` the period the
    file says it covers; ``rows`` how many rows the reader yielded for it.
    """

    account_ref: str
    currency: str = ""
    kind: str = "statement"
    opening_balance: Decimal | None = None
    opening_date: date | None = None
    closing_balance: Decimal | None = None
    closing_date: date | None = None
    start: date | None = None
    end: date | None = None
    rows: int = 0


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str
    code: str
    message: str
    value: str = ""  # the text the file holds there (cut to VALUE_SHOWN), when the reader knows

    def as_dict(self) -> dict[str, Any]:
        error = {"line": self.line, "column": self.column, "code": self.code,
                 "message": self.message}  # fmt: skip
        if self.value:
            error["value"] = self.value[:VALUE_SHOWN]
        return error


class ValueProblem(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def amount_parse(text: str, *, decimal: str, currency: str) -> Decimal:
    """A statement amount: thousands separators, ``(12.50)``, ``12,50-`` and symbols allowed."""
    plain = _PLAIN_AMOUNT.get(decimal)
    if plain is not None and (match := plain.fullmatch(text)) is not None:
        decimals = match.group(1)
        try:
            places = minor_units(currency)
        except MoneyError:
            places = -1  # the general path reports the currency
        if places >= 0 and (decimals is None or len(decimals) <= places):
            return Decimal(text if decimal == "." else text.replace(",", "."))
    raw = text.strip().strip(_CURRENCY_MARKS)
    for mark in _CURRENCY_MARKS:
        raw = raw.replace(mark, "")
    negative = False
    if raw.startswith("(") and raw.endswith(")"):
        negative, raw = True, raw[1:-1]
    if raw.endswith("-"):
        negative, raw = True, raw[:-1]
    raw = raw.removeprefix("+")
    thousands = "." if decimal == "," else ","
    raw = raw.replace(thousands, "").replace(decimal, ".")
    if negative:
        if raw.startswith("-"):
            raise ValueProblem("invalid_amount", f"Not an amount: {text[:40]!r}.")
        raw = "-" + raw
    raw = _LEADING_ZEROS.sub(r"\1", raw)
    try:
        value = parse_amount(raw)
        check_precision(value, currency)
    except MoneyError as exc:
        code = "invalid_amount" if exc.code == "invalid" else exc.code
        raise ValueProblem(code, f"{exc.message} Got {text[:40]!r}.") from exc
    return value


def date_check(value: date) -> date:
    if not DATE_MIN <= value <= DATE_MAX:
        raise ValueProblem("date_out_of_range", f"Dates are between {DATE_MIN} and {DATE_MAX}.")
    return value


@lru_cache(maxsize=4096)
def _date_value(text: str, fmt: str) -> date:
    """strptime is slow and a statement repeats a few hundred dates: remember the last ones."""
    return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date


def date_parse(text: str, fmt: str) -> date:
    try:
        value = _date_value(text.strip(), fmt)
    except ValueError as exc:
        raise ValueProblem("invalid_date", f"Not a date like {fmt}: {text[:40]!r}.") from exc
    return date_check(value)


def text_fit(value: str, column: str) -> tuple[str, str | None]:
    """``value`` with its whitespace collapsed, cut to the column's limit with an ellipsis; the
    second item is the whole cleaned text when it had to be cut (for the row's metadata)."""
    cleaned = " ".join(value.replace("\x00", "").split())
    limit = TEXT_MAX[column]
    if len(cleaned) > limit:
        return cleaned[: limit - 1] + "…", cleaned
    return cleaned, None


def text_clean(value: str, column: str) -> str:
    return text_fit(value, column)[0]


def text_kept(value: str, column: str, metadata: dict[str, str]) -> str:
    """``text_fit``, keeping the whole text in ``metadata[column]`` when it had to be cut."""
    text, full = text_fit(value, column)
    if full is not None:
        metadata[column] = full
    return text
