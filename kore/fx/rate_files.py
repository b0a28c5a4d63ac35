"""Reading exchange-rate files: the ECB's reference-rate CSV layout and a plain CSV.

ECB layout (``eurofxref.csv``, ``eurofxref-hist.csv``): a header ``Date, USD, JPY, …,`` then one
row a day; every rate is the price of one euro; ``N/A`` where there is none (a currency not yet or
no longer quoted); every line ends with a comma; cells may start with a space; dates are ISO
(``2026-03-02``) in the history file and ``02 March 2026`` in the daily one.

Plain layout: a header naming ``date``, ``base``, ``quote`` and ``rate`` in any order; ISO dates;
rates with a ``.`` decimal point.

Both are read whole before anything is stored, and every problem is reported with its line, so a
file is stored all or nothing.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from kore.core.exceptions import KoreError, RuleViolation

from .services import RateInput, rate_check

MAX_ERRORS = 50
_RATE = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")  # a sign, so -1.5 is "out of range"
_PLAIN_COLUMNS = ("date", "base", "quote", "rate")


@dataclass
class RateFile:
    """What a file holds: the rates to store, the ``N/A`` cells passed over, and the problems."""

    rates: list[RateInput] = field(default_factory=list)
    not_available: int = 0
    errors: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def refuse(self, where: str, code: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors[where] = [{"code": code, "message": message}]


def rate_file_read(*, content: bytes, layout: str) -> list[RateInput]:
    """The file's rates, or a 422 ``rate_file_invalid`` listing each bad line's problem."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuleViolation(
            "The file is not UTF-8 text.",
            code="rate_file_invalid",
            fields={"file": [{"code": "invalid_encoding", "message": "Not UTF-8 text."}]},
        ) from exc
    rows = list(csv.reader(io.StringIO(text), skipinitialspace=True))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    result = RateFile()
    if not rows:
        result.refuse("file", "empty", "The file has no header.")
    elif layout == "ecb":
        _read_ecb(rows, result)
    else:
        _read_plain(rows, result)
    if not result.errors and not result.rates:
        result.refuse("file", "empty", "The file holds no rate.")
    if result.errors:
        raise RuleViolation(
            f"{len(result.errors)} problem(s) in the file; nothing was stored.",
            code="rate_file_invalid",
            fields=result.errors,
        )
    return result.rates


def _read_ecb(rows: list[list[str]], result: RateFile) -> None:
    header = [cell.strip() for cell in rows[0]]
    while header and header[-1] == "":
        header.pop()  # the trailing comma
    if not header or header[0].lower() != "date":
        result.refuse("line 1", "invalid_header", 'The ECB layout starts with "Date".')
        return
    quotes = [code.upper() for code in header[1:]]
    for number, row in enumerate(rows[1:], start=2):
        cells = [cell.strip() for cell in row]
        while len(cells) > len(header) and cells[-1] == "":
            cells.pop()
        if len(cells) != len(header):
            result.refuse(f"line {number}", "invalid_row", f"{len(header)} cells expected.")
            continue
        day = _date(cells[0], result, f"line {number}.Date")
        for quote, cell in zip(quotes, cells[1:], strict=True):
            if cell.upper() in ("N/A", ""):
                result.not_available += 1
                continue
            rate = _rate(cell, result, f"line {number}.{quote}")
            if day is not None and rate is not None:
                _add(result, RateInput("EUR", quote, day, rate), f"line {number}.{quote}")


def _read_plain(rows: list[list[str]], result: RateFile) -> None:
    header = [cell.strip().lower() for cell in rows[0]]
    missing = [name for name in _PLAIN_COLUMNS if name not in header]
    if missing:
        result.refuse("line 1", "invalid_header", f"Columns missing: {', '.join(missing)}.")
        return
    where = {name: header.index(name) for name in _PLAIN_COLUMNS}
    for number, row in enumerate(rows[1:], start=2):
        cells = [cell.strip() for cell in row]
        if len(cells) < len(header):
            result.refuse(f"line {number}", "invalid_row", f"{len(header)} cells expected.")
            continue
        day = _date(cells[where["date"]], result, f"line {number}.date")
        rate = _rate(cells[where["rate"]], result, f"line {number}.rate")
        if day is not None and rate is not None:
            item = RateInput(cells[where["base"]].upper(), cells[where["quote"]].upper(), day, rate)
            _add(result, item, f"line {number}.{{field}}")


def _add(result: RateFile, item: RateInput, where: str) -> None:
    """Keep a checked rate; ``where`` may name the ``{field}`` the check refused."""
    try:
        rate_check(item)
    except KoreError as exc:
        name, problems = next(iter(exc.fields.items()))
        result.refuse(where.format(field=name), problems[0]["code"], problems[0]["message"])
        return
    result.rates.append(item)


def _date(text: str, result: RateFile, where: str) -> date | None:
    for layout in ("%Y-%m-%d", "%d %B %Y"):
        try:
            return datetime.strptime(text, layout).date()  # noqa: DTZ007 - a calendar day
        except ValueError:
            continue
    result.refuse(where, "invalid_date", f"{text[:40]!r} is not a date (2026-03-02).")
    return None


def _rate(text: str, result: RateFile, where: str) -> Decimal | None:
    if not _RATE.fullmatch(text):
        result.refuse(where, "invalid_rate", f"{text[:40]!r} is not a rate like 1.0850.")
        return None
    return Decimal(text)
