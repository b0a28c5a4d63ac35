"""OFX and QFX statements (OFX 1.x SGML and 2.x XML), read tolerantly.

Banks send OFX that strict parsers refuse: blank lines before the header, elements in another
order than the DTD's (``CHECKNUM`` before ``NAME``), closing tags for leaf elements or none,
``&`` unescaped. The file is read as a flat stream of tags: an element with text is a value, an
element closed somewhere in the file is an aggregate, and values are looked up by name inside
their aggregate, so order never matters. No DTD is read and no entity but the five XML ones and
character references is expanded, so an OFX file cannot reach the network or the disk.

What a user sees of a file that holds no statement is the file's own story: the bank's error
(``<SEVERITY>ERROR`` and its ``MESSAGE``), an investment statement, or no statement at all.
"""

import html
import re
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import BinaryIO
from xml.etree.ElementTree import Element

from .base import (
    ImportFileError,
    Row,
    RowError,
    Statement,
    ValueProblem,
    amount_parse,
    date_parse,
    reference_like,
    text_clean,
    text_decode,
    text_kept,
    whole_file_read,
)

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9._]*)([^<>]*)>([^<]*)")
_CLOSING = re.compile(rb"</([A-Za-z][A-Za-z0-9._]*)\s*>")
_HEADER_VALUE = re.compile(rb"(ENCODING|CHARSET)\s*[:=]\s*\"?([A-Za-z0-9_-]+)", re.IGNORECASE)
_DATE = re.compile(r"(\d{8})|(\d{4}-\d{2}-\d{2})")
# Elements the OFX specification defines as values: never aggregates, even empty and closed
# elsewhere in the file (an empty <NAME> must not swallow the TRNAMT after it).
_VALUES = frozenset((
    "NAME", "MEMO", "FITID", "TRNAMT", "TRNTYPE", "DTPOSTED", "DTUSER", "DTAVAIL", "DTTRAN",
    "CHECKNUM", "REFNUM", "SIC", "PAYEEID", "SRVRTID", "CORRECTFITID", "CORRECTACTION",
    "EXTDNAME", "CURDEF", "CURSYM", "CURRATE", "ACCTID", "BANKID", "BRANCHID", "ACCTTYPE",
    "BALAMT", "DTASOF", "DTSTART", "DTEND", "CODE", "SEVERITY", "MESSAGE", "TRNUID",
    "DTSERVER", "LANGUAGE", "ORG", "FID",
))  # fmt: skip
# Values kept in a row's metadata, by their OFX names in lower case.
_KEPT = ("TRNTYPE", "CHECKNUM", "REFNUM", "SRVRTID", "SIC", "PAYEEID", "CORRECTFITID",
         "CORRECTACTION", "DTUSER", "DTAVAIL", "EXTDNAME")  # fmt: skip
_CHARSETS = {"1252": "cp1252", "ISO-8859-1": "latin-1", "8859-1": "latin-1", "NONE": "cp1252"}


def _text(element: Element | None, name: str) -> str:
    if element is None:
        return ""
    found = element.find(name)
    return (found.text or "").strip() if found is not None else ""


def _local_date(text: str, what: str) -> date:
    """The date part of an OFX date-time: the bank's local date, whatever the offset says
    (``20240131220000.000[-5:EST]`` is 31 January, not 1 February in UTC)."""
    match = _DATE.match(text.strip())
    if match is None:
        raise ValueProblem("invalid_date", f"{what} is not an OFX date: {text[:40]!r}.")
    if match.group(1):
        return date_parse(match.group(1), "%Y%m%d")
    return date_parse(match.group(2), "%Y-%m-%d")


def _decode(data: bytes) -> str:
    """UTF-8 when the bytes are UTF-8 (many files declare USASCII and are not), else the
    declared 8-bit charset; never a lone surrogate."""
    charset = "cp1252"
    for key, value in _HEADER_VALUE.findall(data[:2048]):
        if key.upper() == b"CHARSET":
            charset = _CHARSETS.get(value.decode("ascii").upper(), "cp1252")
    return text_decode(data, charset)


def ofx_tree(data: bytes) -> Element:
    """The ``<OFX>`` element of an OFX 1.x or 2.x document, read tolerantly (see the module)."""
    start = data.upper().find(b"<OFX>")
    if start < 0:
        raise ImportFileError(
            "This is not an OFX file: it has no <OFX> element.", code="import_file_malformed"
        )
    if re.search(rb"<!(DOCTYPE|ENTITY)", data[: start + 1], re.IGNORECASE) or b"<!ENTITY" in data:
        raise ImportFileError(
            "The file declares a DTD or entities, which statements never need.",
            code="import_xml_forbidden",
        )
    body = _decode(data[start:])
    aggregates = {name.decode("ascii", "replace").upper() for name in _CLOSING.findall(data)}
    root = Element("OFX")
    stack: list[Element] = []
    for match in _TAG.finditer(body):
        closing, name, rest, text = match.groups()
        name = name.upper()
        if closing:
            for at in range(len(stack) - 1, -1, -1):
                if stack[at].tag == name:
                    del stack[at:]
                    break
            continue  # a closed value, or a stray end tag
        if not stack:
            if name != "OFX":
                continue
            stack.append(root)
            continue
        value = text.strip()
        if not value and name in aggregates and name not in _VALUES and not rest.endswith("/"):
            if stack[-1].tag == name:  # a bank that never closes STMTTRN: siblings, not nested
                stack.pop()
            element = Element(name)
            stack[-1].append(element)
            stack.append(element)
        else:
            element = Element(name)
            element.text = html.unescape(value) if "&" in value else value
            stack[-1].append(element)
    if not stack and not len(root):
        raise ImportFileError("The OFX file is empty.", code="import_file_malformed")
    return root


def _bank_said(status: Element | None) -> str:
    """A user's sentence for an OFX ``STATUS`` of severity ERROR, in the bank's own words."""
    message = text_clean(_text(status, "MESSAGE")[:200], "reference")
    code = _text(status, "CODE")
    said = f": “{message}”" if message else ""
    return (
        f"The bank sent an error instead of a statement (OFX code {code[:10] or '?'}){said}. "
        "Download the statement again from the bank."
    )


class OfxReader:
    """Rows of every bank and credit-card statement in the file; ``statements`` lists them."""

    mapping: dict[str, object]

    def __init__(self, opener: Callable[[], BinaryIO], *, currency: str, size: int) -> None:
        self.opener = opener
        self.size = size
        self.currency = currency
        self.mapping = {}
        self.statements: list[Statement] = []

    def rows(self) -> Iterator[Row | RowError]:
        root = ofx_tree(whole_file_read(self.opener, self.size, "OFX"))
        found = [e for e in root.iter() if e.tag in ("STMTRS", "CCSTMTRS")]
        if not found:
            raise self._no_statement(root)
        self.statements = []
        number = 0
        for element in found:
            statement = self._statement(element)
            self.statements.append(statement)
            transactions = element.find("BANKTRANLIST")
            for trn in transactions.iter("STMTTRN") if transactions is not None else ():
                number += 1
                statement.rows += 1
                yield self._row(number, trn, statement)
            pending = element.find("BANKTRANLISTP")
            for trn in pending.iter("STMTTRNP") if pending is not None else ():
                number += 1
                statement.rows += 1
                yield self._row(number, trn, statement, pending=True)
        for response in root.iter():
            if response.tag in ("STMTTRNRS", "CCSTMTTRNRS") and not any(
                e.tag in ("STMTRS", "CCSTMTRS") for e in response
            ):
                # One account's request failed beside others that came: say so, row-wise.
                status = response.find("STATUS")
                if _text(status, "SEVERITY").upper() == "ERROR":
                    number += 1
                    yield RowError(number, "STATUS", "bank_error", _bank_said(status))

    def _no_statement(self, root: Element) -> ImportFileError:
        for status in root.iter("STATUS"):
            if _text(status, "SEVERITY").upper() == "ERROR":
                return ImportFileError(_bank_said(status), code="import_bank_error")
        if any(e.tag in ("INVSTMTRS", "INVSTMTMSGSRSV1") for e in root.iter()):
            return ImportFileError(
                "This is an investment statement; Kore imports cash accounts (bank and credit "
                "card statements).",
                code="import_investment_statement",
            )
        return ImportFileError(
            "The OFX file holds no bank or credit-card statement.", code="import_no_statement"
        )

    def _statement(self, element: Element) -> Statement:
        account = element.find("BANKACCTFROM")
        if account is None:
            account = element.find("CCACCTFROM")
        statement = Statement(_text(account, "ACCTID"), _text(element, "CURDEF").upper())
        ledger = element.find("LEDGERBAL")
        transactions = element.find("BANKTRANLIST")
        try:
            if ledger is not None and _text(ledger, "BALAMT"):
                statement.closing_balance = self._amount(
                    _text(ledger, "BALAMT"), statement.currency or self.currency
                )
                statement.closing_date = _local_date(_text(ledger, "DTASOF"), "DTASOF")
            if transactions is not None and _text(transactions, "DTSTART"):
                statement.start = _local_date(_text(transactions, "DTSTART"), "DTSTART")
                statement.end = _local_date(_text(transactions, "DTEND"), "DTEND")
        except ValueProblem as problem:
            raise ImportFileError(
                f"The statement of account {statement.account_ref or '?'}: {problem.message}",
                code="import_file_malformed",
            ) from problem
        return statement

    @staticmethod
    def _amount(text: str, currency: str) -> Decimal:
        # OFX allows a comma as the decimal mark and no thousands separator.
        decimal = "," if "," in text and "." not in text else "."
        return amount_parse(text.strip(), decimal=decimal, currency=currency)

    def _row(
        self, number: int, trn: Element, statement: Statement, *, pending: bool = False
    ) -> Row | RowError:
        column = "DTTRAN" if pending else "DTPOSTED"
        try:
            occurred_on = _local_date(_text(trn, column) or _text(trn, "DTUSER"), column)
            column = "TRNAMT"
            currency, original_currency, metadata = self._currencies(trn, statement)
            amount = self._amount(_text(trn, "TRNAMT"), currency or self.currency)
            column = "NAME"
            name = _text(trn, "NAME") or _text(trn.find("PAYEE"), "NAME")
            memo = _text(trn, "MEMO")
            description = name if reference_like(memo) or not memo else memo
            fitid = _text(trn, "FITID") or _text(trn, "REFNUM")
            notes = []
            for key in _KEPT:
                if value := _text(trn, key):
                    metadata[key.lower()] = value[:500]
            if memo and description != memo:
                metadata["memo"] = memo[:500]
                notes.append(memo)
            if checknum := _text(trn, "CHECKNUM"):
                notes.append(f"Check {checknum}")
            row = Row(
                line=number,
                occurred_on=occurred_on,
                amount=amount,
                description=text_kept(description, "description", metadata),
                counterparty=text_clean(name, "counterparty"),
                reference=text_clean(fitid, "reference"),
                currency=currency,
                original_currency=original_currency,
                bank_state=self._state(trn, pending),
                bank_id=fitid,
                account_ref=statement.account_ref,
                notes=" · ".join(notes)[:1000],
                metadata=metadata or None,
            )
        except ValueProblem as problem:
            return RowError(number, column, problem.code, problem.message)
        return row

    @staticmethod
    def _state(trn: Element, pending: bool) -> str:
        if pending:
            return "pending"
        if _text(trn, "CORRECTACTION").upper() == "DELETE":
            return "reverted"  # the bank withdraws the transaction CORRECTFITID names
        return "booked"

    def _currencies(self, trn: Element, statement: Statement) -> tuple[str, str, dict[str, str]]:
        """(the currency TRNAMT is in, the original currency, metadata): ``CURRENCY`` means the
        amounts are in ``CURSYM``; ``ORIGCURRENCY`` that they are in ``CURDEF``, converted from
        ``CURSYM`` at ``CURRATE``."""
        metadata: dict[str, str] = {}
        currency, original = statement.currency, ""
        for name in ("CURRENCY", "ORIGCURRENCY"):
            element = trn.find(name)
            if element is None:
                continue
            symbol = _text(element, "CURSYM").upper()
            if rate := _text(element, "CURRATE"):
                metadata["currency_rate"] = rate[:40]
            if name == "CURRENCY" and symbol:
                currency = symbol
            elif symbol and symbol != currency:
                original = symbol
        return currency, original, metadata
