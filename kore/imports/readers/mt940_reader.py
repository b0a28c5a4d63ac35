"""SWIFT MT940 (customer statement) and MT942 (interim transaction report) files.

A file holds one or more messages, with or without the SWIFT envelope (``{1:…}{2:…}{4:`` …
``-}``), each a sequence of fields: ``:20:`` reference, ``:25:`` account, ``:28C:`` statement
number, ``:60F:``/``:60M:`` opening balance, ``:61:`` statement line with its ``:86:``
information, ``:62F:``/``:62M:`` closing balance (MT942 instead: ``:34F:`` floor limit,
``:13D:`` date-time, ``:90D:``/``:90C:`` totals). An MT942 report is not final: its rows are
bank-pending.

``:61:`` is ``value date YYMMDD [entry date MMDD] D|C|RD|RC [funds code] amount type reference
[//bank reference] [newline supplementary details]``; the row is booked on the entry date when
given (its year taken nearest the value date), else on the value date. ``RD`` (a debit reversed)
is a credit and ``RC`` a debit: the reversal is a booked movement, kept with its sign.

``:86:`` comes in three shapes: the German ``GVC?00…?20…?32…`` subfields (with SEPA keywords
``EREF+``, ``SVWZ+`` …), the ``/TAG/value`` layout (``/REMI/``, ``/CNTP/``, ``/NAME/``) and free
text; the remittance text becomes the description and the counterparty's name the counterparty.
"""

import re
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from .base import (
    ImportFileError,
    Row,
    RowError,
    Statement,
    ValueProblem,
    amount_parse,
    date_check,
    text_clean,
    text_decode,
    text_kept,
    whole_file_read,
)

_ENVELOPE = re.compile(r"\{[1235]:(?:[^{}]|\{[^{}]*\})*\}|\{4:|^-\}?\s*$", re.MULTILINE)
_FIELD = re.compile(r"^:(\d\d[A-Z]?):", re.MULTILINE)
_LINE = re.compile(
    r"(?P<value>\d{6})(?P<entry>\d{4})?(?P<mark>R?[DC]|E[DC])(?P<funds>[A-Z])?"
    r"(?P<amount>\d[\d,]*)(?P<type>[NSF][A-Z0-9]{3})(?P<ref>[^\n]*?)(?://(?P<bank>[^\n]*))?"
    r"(?:\n(?P<extra>.*))?",
    re.DOTALL,
)
_BALANCE = re.compile(r"(?P<mark>[DC])(?P<date>\d{6})(?P<currency>[A-Z]{3})(?P<amount>\d[\d,]*)")
_GVC = re.compile(r"(\d{3})([?@#|])")
_SEPA = re.compile(r"(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|COAM|OAMT|BREF|RREF)\+")
_SEPA_KEYS = {
    "EREF": "end_to_end_id",
    "KREF": "customer_reference",
    "MREF": "mandate_id",
    "CRED": "creditor_id",
    "ABWA": "ultimate_debtor",
    "ABWE": "ultimate_creditor",
}
_TAGS = ("EREF", "CNTP", "REMI", "NAME", "IBAN", "BIC", "TRTP", "MARF", "CSID", "ORDP",
         "BENM", "PREF", "ULTC", "ULTD", "PURP", "RTRN", "ADDR", "ISDT", "CDTRREF")  # fmt: skip
_TAGGED = re.compile(r"/(" + "|".join(_TAGS) + r")/")
_ACCOUNT_CURRENCY = re.compile(r"(?<=\d)[A-Z]{3}$")  # "NL20INGB0001234567EUR": the IBAN
_BLANK = ("", "-", "-}")  # separator lines between messages
_FREE_TEXT_WRAP = 65  # an :86: line is at most 65 characters; banks cut words there


def mt_kind(head: str) -> str | None:
    """``mt940`` or ``mt942`` when ``head`` looks like one (``:20:`` and ``:25:`` fields), else
    ``None``."""
    if not (re.search(r"^:20:", head, re.MULTILINE) and re.search(r"^:25:", head, re.MULTILINE)):
        return None
    if re.search(r"\{2:[IO]942|^:34F:|^:13D:", head, re.MULTILINE):
        return "mt942"
    return "mt940"


def _amount(text: str, currency: str) -> Decimal:
    text = text.strip()
    if text.endswith(","):
        text = text[:-1]
    return amount_parse(text, decimal=",", currency=currency)


def _yymmdd(text: str) -> date:
    year = int(text[:2])
    try:
        return date_check(date(2000 + year if year < 80 else 1900 + year, int(text[2:4]),
                               int(text[4:6])))  # fmt: skip
    except ValueError as exc:
        raise ValueProblem("invalid_date", f"Not a date YYMMDD: {text!r}.") from exc


def _entry_date(value: date, mmdd: str) -> date:
    """The entry date MMDD in the year that puts it nearest the value date (a line valued on
    31 December may be entered on 2 January)."""
    candidates = []
    for year in (value.year - 1, value.year, value.year + 1):
        try:
            candidates.append(date(year, int(mmdd[:2]), int(mmdd[2:])))
        except ValueError:
            continue
    if not candidates:
        raise ValueProblem("invalid_date", f"Not an entry date MMDD: {mmdd!r}.")
    return date_check(min(candidates, key=lambda d: abs(d - value)))


def _join(parts: list[str], width: int) -> str:
    """Continuation pieces of one text: glued when the previous one filled its line (the bank
    cut a word), else with a space."""
    out, previous = "", ""
    for part in parts:
        if out and len(previous) < width:
            out += " "
        out += part
        previous = part
    return out.strip()


def information_parse(text: str) -> tuple[str, str, str, dict[str, str]]:
    """(description, counterparty, notes, metadata) of an ``:86:`` field."""
    match = _GVC.match(text)
    if match:
        return _german(text.replace("\n", ""), match.group(2), match.group(1))
    flat = text.replace("\n", "")
    if _TAGGED.search(flat):
        return _tagged(flat)
    lines = text.split("\n")
    return _join(lines, _FREE_TEXT_WRAP), "", "", {}


def _german(text: str, separator: str, gvc: str) -> tuple[str, str, str, dict[str, str]]:
    fields: dict[str, list[str]] = {}
    for chunk in text[4:].split(separator):
        if len(chunk) >= 2 and chunk[:2].isdigit():
            fields.setdefault(chunk[:2], []).append(chunk[2:])
    purpose_keys = [f"{n}" for n in range(20, 30)] + ["60", "61", "62", "63"]
    purpose = _join([p for key in purpose_keys for p in fields.get(key, [])], 27)
    metadata: dict[str, str] = {"transaction_code": gvc}
    description = purpose
    pieces = _SEPA.split(purpose)
    if len(pieces) > 1:
        keyed = dict(zip(pieces[1::2], (p.strip() for p in pieces[2::2]), strict=False))
        description = keyed.get("SVWZ", "") or pieces[0].strip()
        for key, name in _SEPA_KEYS.items():
            if keyed.get(key) and keyed[key] != "NOTPROVIDED":
                metadata[name] = keyed[key][:500]
    counterparty = "".join(fields.get("32", []) + fields.get("33", [])).strip()
    if account := "".join(fields.get("31", [])).strip():
        metadata["counterparty_account"] = account[:500]
    if bank := "".join(fields.get("30", [])).strip():
        metadata["counterparty_bank"] = bank[:500]
    posting = "".join(fields.get("00", [])).strip()
    if not description:
        description = posting
    notes = posting if posting != description else ""
    return description, counterparty, notes, metadata


def _tagged(text: str) -> tuple[str, str, str, dict[str, str]]:
    parts = _TAGGED.split(text)
    values: dict[str, str] = {}
    for tag, value in zip(parts[1::2], parts[2::2], strict=False):
        values.setdefault(tag, value.strip("/ "))
    metadata: dict[str, str] = {}
    counterparty = values.get("NAME", "")
    if cntp := values.get("CNTP", ""):
        pieces = cntp.split("/")
        if pieces[0]:
            metadata["counterparty_account"] = pieces[0][:500]
        counterparty = counterparty or (pieces[2] if len(pieces) > 2 else "")
    remittance = values.get("REMI", "")
    for prefix in ("USTD//", "USTD/", "STRD/CUR/", "STRD//"):
        if remittance.startswith(prefix):
            remittance = remittance[len(prefix) :]
            break
    eref = values.get("EREF", "")
    if eref and eref != "NOTPROVIDED":
        metadata["end_to_end_id"] = eref[:500]
    if values.get("IBAN"):
        metadata["counterparty_account"] = values["IBAN"][:500]
    description = remittance.strip("/ ") or values.get("TRTP", "")
    notes = values.get("TRTP", "") if description != values.get("TRTP", "") else ""
    return description, counterparty.strip(), notes, metadata


class MtReader:
    """Rows of every message in an MT940 or MT942 file; ``statements`` lists them."""

    mapping: dict[str, object]

    def __init__(
        self, opener: Callable[[], BinaryIO], *, currency: str, size: int, interim: bool
    ) -> None:
        self.opener = opener
        self.size = size
        self.currency = currency
        self.interim = interim
        self.mapping = {}
        self.statements: list[Statement] = []

    def _text(self) -> str:
        text = text_decode(whole_file_read(self.opener, self.size, "MT940"))
        return _ENVELOPE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))

    def _fields(self) -> Iterator[tuple[str, str]]:
        text = self._text()
        matches = list(_FIELD.finditer(text))
        if not matches:
            raise ImportFileError("The file holds no MT940 fields.", code="import_file_malformed")
        for match, following in zip(matches, [*matches[1:], None], strict=True):
            end = following.start() if following else len(text)
            value = text[match.end() : end].strip("\n")
            lines = [
                line.rstrip() for line in value.split("\n") if line.strip() not in ("", "-", "-}")
            ]
            yield match.group(1), "\n".join(lines)

    def rows(self) -> Iterator[Row | RowError]:
        self.statements = []
        statement: Statement | None = None
        pending: tuple[int, str] | None = None  # the :61: waiting for its :86:
        number = 0
        kind = "intraday" if self.interim else "statement"
        for tag, value in self._fields():
            if pending and tag != "86":
                yield self._row(*pending, "", statement)
                pending = None
            if tag == "20":
                statement = Statement("", kind=kind)
                self.statements.append(statement)
            elif statement is None:
                continue
            elif tag == "25":
                statement.account_ref = _ACCOUNT_CURRENCY.sub("", value.split("\n")[0].strip())
            elif tag in ("60F", "60M", "62F", "62M"):
                self._balance(statement, tag, value)
            elif tag == "34F" and not statement.currency:
                statement.currency = value[:3]
            elif tag == "61":
                number += 1
                statement.rows += 1
                pending = (number, value)
            elif tag == "86" and pending:
                yield self._row(*pending, value, statement)
                pending = None
        if pending:
            yield self._row(*pending, "", statement)
        if not self.statements:
            raise ImportFileError(
                "The file holds no MT940 statement (no :20: field).", code="import_no_statement"
            )

    def _balance(self, statement: Statement, tag: str, value: str) -> None:
        match = _BALANCE.match(value)
        if match is None:
            raise ImportFileError(
                f"The :{tag}: balance of account {statement.account_ref or '?'} is not "
                "D/C, date YYMMDD, currency and amount.",
                code="import_file_malformed",
            )
        try:
            amount = _amount(match.group("amount"), match.group("currency"))
            day = _yymmdd(match.group("date"))
        except ValueProblem as problem:
            raise ImportFileError(
                f"The :{tag}: balance of account {statement.account_ref or '?'}: {problem.message}",
                code="import_file_malformed",
            ) from problem
        amount = -amount if match.group("mark") == "D" else amount
        statement.currency = statement.currency or match.group("currency")
        if tag.startswith("60") and statement.opening_balance is None:
            statement.opening_balance, statement.opening_date = amount, day
        elif tag.startswith("62"):
            statement.closing_balance, statement.closing_date = amount, day

    def _row(
        self, number: int, line: str, info: str, statement: Statement | None
    ) -> Row | RowError:
        assert statement is not None
        match = _LINE.fullmatch(line)
        if match is None:
            return RowError(
                number, ":61:", "invalid_entry",
                "The statement line is not: value date, D/C mark, amount, type, reference.",
            )  # fmt: skip
        try:
            value_date = _yymmdd(match.group("value"))
            entry = match.group("entry")
            occurred_on = _entry_date(value_date, entry) if entry else value_date
            currency = statement.currency or self.currency
            amount = _amount(match.group("amount"), currency)
            mark = match.group("mark")
            if mark in ("D", "RC", "ED"):
                amount = -amount
            description, counterparty, notes, metadata = information_parse(info)
            customer = match.group("ref").strip()
            bank = (match.group("bank") or "").strip()
            extra = (match.group("extra") or "").replace("\n", " ").strip()
            metadata["transaction_type"] = match.group("type")
            metadata["value_date"] = value_date.isoformat()
            if mark.startswith("R"):
                metadata["reversal"] = "true"
            if customer and customer != "NONREF":
                metadata["customer_reference"] = customer[:500]
            if extra:
                metadata["supplementary"] = extra[:500]
            reference = bank or (customer if customer != "NONREF" else "")
            row = Row(
                line=number,
                occurred_on=occurred_on,
                amount=amount,
                description=text_kept(description or extra, "description", metadata),
                counterparty=text_clean(counterparty, "counterparty"),
                reference=text_clean(reference, "reference"),
                currency=statement.currency,
                bank_state="pending" if self.interim or mark.startswith("E") else "booked",
                bank_id=reference,
                account_ref=statement.account_ref,
                notes=notes[:1000],
                metadata=metadata,
            )
        except ValueProblem as problem:
            return RowError(number, ":61:", problem.code, problem.message)
        return row
