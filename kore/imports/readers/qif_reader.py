"""QIF (Quicken Interchange Format) cash-account files.

A section starts with ``!Type:Bank`` (or ``Cash``, ``CCard``, ``Oth A``, ``Oth L``); each
record is lines of a one-letter code and a value, ended by ``^``: ``D`` date, ``T``/``U``
amount, ``P`` payee, ``M`` memo, ``N`` number, ``C`` cleared status, ``L`` category, ``A``
address, ``S``/``E``/``$`` a split's category, memo and amount. ``!Account`` (``N`` name,
``T`` type) names the account the next section belongs to: it is the rows' ``account_ref``.
Lists (``!Type:Cat``, ``Class``, ``Memorized``, ``Security``, ``Prices``) hold no transactions
and are passed over; an investment section (``!Type:Invst``) is refused, as Kore imports cash
accounts.

QIF states neither its date order nor its decimal mark: both are read off the whole file (a day
above 12, an amount like ``1.234,56``), and a file where every date reads both ways
(``03/04/2024``) or every amount both ways (``1,234``) is refused unless the mapping gives a
``locale`` (or ``date_format``/``decimal``). Two-digit years are 19xx from 70 on, else 20xx;
Quicken's ``1/ 2'24`` is 2 January 2024 in month-first files.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

from .base import (
    ImportFileError,
    Row,
    RowError,
    Statement,
    ValueProblem,
    amount_parse,
    date_check,
    reference_like,
    text_clean,
    text_decode,
    text_kept,
    whole_file_read,
)

CASH_TYPES = ("bank", "cash", "ccard", "oth a", "oth l")
LIST_TYPES = ("cat", "class", "memorized", "security", "prices", "invitem", "template")
_DATE_PARTS = re.compile(r"(\d{1,4})\s*[/.\-']\s*(\d{1,2})\s*[/.\-']\s*(\d{1,4})")
# Locales whose dates put the month first (kore.imports.readers.csv_reader.LOCALES).
_MONTH_FIRST_LOCALES = ("en-US",)


@dataclass
class _Record:
    line: int
    fields: dict[str, str] = field(default_factory=dict)
    addresses: list[str] = field(default_factory=list)
    splits: list[list[str]] = field(default_factory=list)


def _order_from_mapping(mapping: dict[str, object]) -> str:
    """ "dmy" or "mdy" when the mapping says (locale or date_format), else ""."""
    date_format = mapping.get("date_format")
    if isinstance(date_format, str) and "%d" in date_format and "%m" in date_format:
        return "mdy" if date_format.index("%m") < date_format.index("%d") else "dmy"
    locale = mapping.get("locale")
    if isinstance(locale, str) and locale:
        return "mdy" if locale in _MONTH_FIRST_LOCALES else "dmy"
    return ""


def _decimal_from_mapping(mapping: dict[str, object]) -> str:
    declared = mapping.get("decimal")
    if declared in (".", ","):
        return str(declared)
    locale = mapping.get("locale")
    if isinstance(locale, str) and locale:
        from .csv_reader import LOCALES  # the one table of locales

        return LOCALES.get(locale, ("", ()))[0]
    return ""


def _decimal_evidence(text: str) -> str:
    """ "." or "," when the amount settles the decimal mark, "?" when it reads both ways
    (``1,234``), "" when it has no mark at all."""
    digits = text.strip().lstrip("+-").rstrip("-")
    dot, comma = digits.rfind("."), digits.rfind(",")
    if dot >= 0 and comma >= 0:
        return "." if dot > comma else ","
    mark = "." if dot >= 0 else "," if comma >= 0 else ""
    if not mark:
        return ""
    head, _, tail = digits.rpartition(mark)
    if len(tail) == 3 and digits.count(mark) == 1 and head and head != "0":
        return "?"
    return mark


class QifReader:
    """Rows of every cash-account section; ``statements`` has one entry per account."""

    mapping: dict[str, object]

    def __init__(
        self,
        opener: Callable[[], BinaryIO],
        *,
        currency: str,
        size: int,
        mapping: dict[str, object],
    ) -> None:
        self.opener = opener
        self.size = size
        self.currency = currency
        self.mapping = {k: v for k, v in mapping.items() if k in ("locale", "date_format",
                                                                  "decimal")}  # fmt: skip
        self.statements: list[Statement] = []

    def _records(self) -> list[tuple[Statement, _Record]]:
        text = text_decode(whole_file_read(self.opener, self.size, "QIF"))
        self.statements = []
        records: list[tuple[Statement, _Record]] = []
        section, account_name = "", ""
        statement: Statement | None = None
        record: _Record | None = None
        for number, raw_line in enumerate(text.splitlines(), start=1):
            line = raw_line.strip()
            if not line:
                continue
            if line.startswith("!"):
                header = line[1:].lower()
                if header.startswith("type:"):
                    section = header[5:].strip()
                    if section in ("invst", "port"):
                        raise ImportFileError(
                            "This is an investment statement; Kore imports cash accounts "
                            "(QIF sections Bank, Cash, CCard, Oth A, Oth L).",
                            code="import_investment_statement",
                        )
                    if section in CASH_TYPES:
                        statement = Statement(account_name)
                        self.statements.append(statement)
                elif header == "account":
                    section = "account"
                record = None
                continue
            if record is None:
                record = _Record(number)
            code, value = line[0], line[1:].strip()
            if code == "^":
                if section == "account":
                    account_name = record.fields.get("N", "")
                elif section in CASH_TYPES and statement is not None and record.fields:
                    records.append((statement, record))
                elif section not in LIST_TYPES and section not in CASH_TYPES and record.fields:
                    raise ImportFileError(
                        f"Line {number}: a QIF record outside a known section "
                        f"(!Type:{section[:20] or '?'}).",
                        code="import_file_malformed",
                        line=number,
                    )
                record = None
            elif code == "A":
                record.addresses.append(value)
            elif code == "S":
                record.splits.append([value, "", ""])
            elif code in "E$" and record.splits:
                record.splits[-1]["E$".index(code) + 1] = value
            else:
                record.fields.setdefault(code, value)
        if record is not None and record.fields and section in CASH_TYPES and statement:
            records.append((statement, record))  # a last record without its ^
        if not self.statements:
            raise ImportFileError(
                "The QIF file has no cash-account section (!Type:Bank, Cash, CCard, Oth A or "
                "Oth L).",
                code="import_no_statement",
            )
        return records

    def _date_order(self, records: list[tuple[Statement, _Record]]) -> str:
        declared = _order_from_mapping(self.mapping)
        if declared:
            return declared
        day_first = month_first = ambiguous = False
        for _, record in records:
            match = _DATE_PARTS.search(record.fields.get("D", ""))
            if match is None or len(match.group(1)) == 4:
                continue
            first, second = int(match.group(1)), int(match.group(2))
            if "." in record.fields["D"] or first > 12:
                day_first = True
            elif second > 12:
                month_first = True
            elif first != second:
                ambiguous = True
        if day_first and month_first:
            raise ImportFileError(
                "The file's dates mix day/month and month/day; export it again.",
                code="import_date_ambiguous",
            )
        if day_first or month_first:
            return "dmy" if day_first else "mdy"
        if ambiguous:
            raise ImportFileError(
                "Every date in the file reads as day/month and as month/day: give the mapping's "
                "locale (en-US for month first, en-GB or another for day first).",
                code="import_date_ambiguous",
            )
        return "mdy"

    def _decimal(self, records: list[tuple[Statement, _Record]]) -> str:
        declared = _decimal_from_mapping(self.mapping)
        if declared:
            return declared
        seen = {_decimal_evidence(r.fields.get("T") or r.fields.get("U", "")) for _, r in records}
        decided = seen & {".", ","}
        if len(decided) > 1:
            raise ImportFileError(
                "The file's amounts mix decimal points and decimal commas; export it again.",
                code="import_amount_ambiguous",
            )
        if decided:
            return decided.pop()
        if "?" in seen:
            raise ImportFileError(
                "Every amount with a separator reads both ways (1,234 is 1234 or 1.234): give "
                "the mapping's decimal mark or locale.",
                code="import_amount_ambiguous",
            )
        return "."

    def rows(self) -> Iterator[Row | RowError]:
        records = self._records()
        order, decimal = self._date_order(records), self._decimal(records)
        self.mapping = {**self.mapping, "date_order": order, "decimal": decimal}
        for number, (statement, record) in enumerate(records, start=1):
            statement.rows += 1
            yield self._row(number, statement, record, order, decimal)

    def _row(
        self, number: int, statement: Statement, record: _Record, order: str, decimal: str
    ) -> Row | RowError:
        fields = record.fields
        column = "D"
        try:
            occurred_on = self._date(fields.get("D", ""), order)
            column = "T"
            amount_text = fields.get("T") or fields.get("U", "")
            amount = amount_parse(amount_text, decimal=decimal, currency=self.currency)
            column = "P"
            payee, memo = fields.get("P", ""), fields.get("M", "")
            description = payee if reference_like(memo) or not memo else memo
            metadata: dict[str, str] = {}
            for code, key in (("L", "category"), ("C", "cleared"), ("N", "number")):
                if fields.get(code):
                    metadata[key] = fields[code][:500]
            if record.addresses:
                metadata["address"] = ", ".join(a for a in record.addresses if a)[:500]
            notes = [memo] if memo and description != memo else []
            if record.splits:
                splits = "; ".join(" ".join(p for p in split if p) for split in record.splits)
                metadata["splits"] = splits[:500]
                notes.append(f"Split: {splits}")
            row = Row(
                line=number,
                occurred_on=occurred_on,
                amount=amount,
                description=text_kept(description, "description", metadata),
                counterparty=text_clean(payee, "counterparty"),
                reference=text_clean(fields.get("N", ""), "reference"),
                account_ref=statement.account_ref,
                notes=" · ".join(notes)[:1000],
                metadata={**metadata, "line": str(record.line)},
            )
        except ValueProblem as problem:
            return RowError(number, column, problem.code, f"Line {record.line}: {problem.message}")
        return row

    @staticmethod
    def _date(text: str, order: str) -> date:
        match = _DATE_PARTS.search(text)
        if match is None:
            raise ValueProblem("invalid_date", f"Not a QIF date: {text[:40]!r}.")
        a, b, c = match.groups()
        if len(a) == 4:
            year, month, day = int(a), int(b), int(c)
        else:
            month, day = (int(a), int(b)) if order == "mdy" else (int(b), int(a))
            year = int(c)
            if len(c) <= 2:
                year += 1900 if year >= 70 and "'" not in text else 2000
        try:
            return date_check(date(year, month, day))
        except ValueError as exc:
            raise ValueProblem("invalid_date", f"Not a date: {text[:40]!r}.") from exc
