"""ISO 20022 bank-to-customer cash reports, streamed with a hardened ``iterparse``.

* camt.053 (statement, end of day): entries as the bank states them (``Sts`` BOOK → booked;
  PDNG, INFO and FUTR → pending).
* camt.052 (account report, intraday): not final, so every entry is bank-pending.
* camt.054 (debit/credit notification): single entries, each as its ``Sts`` says.

Every version from .001.02 on is read by local names: ``Sts`` as text (.02 to .07) or ``Sts/Cd``
(.08 on), a party as ``Dbtr/Nm`` (.02 to .07) or ``Dbtr/Pty/Nm`` (.08 on), a transaction's amount as
``AmtDtls/TxAmt/Amt`` or ``TxDtls/Amt``. Dates carrying a zone (``2024-03-02+01:00``,
``2024-03-02T23:30:00-05:00``) are the bank's local date, the offset ignored.

A batch entry (``NtryDtls`` with several ``TxDtls``) becomes its transactions when their amounts
are given and add up to the entry; otherwise one row whose description says it is a batch of N.

defusedxml refuses any DTD (so no entity expansion, no XML bomb, no external entity or DTD);
each ``<Ntry>`` is turned into rows and removed from the tree at once, so memory stays flat.
"""

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from .base import (
    ImportFileError,
    Row,
    RowError,
    Statement,
    ValueProblem,
    amount_parse,
    date_parse,
    text_clean,
    text_kept,
)

# Root element → (format, statement element, statement kind)
MESSAGES = {
    "BkToCstmrStmt": ("camt053", "Stmt", "statement"),
    "BkToCstmrAcctRpt": ("camt052", "Rpt", "intraday"),
    "BkToCstmrDbtCdtNtfctn": ("camt054", "Ntfctn", "notification"),
}
STATES = {"BOOK": "booked", "PDNG": "pending", "INFO": "pending", "FUTR": "pending"}
OPENING = ("OPBD", "PRCD")
CLOSING = ("CLBD", "ITBD")
_NOT_PROVIDED = "NOTPROVIDED"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(element: Element | None, *path: str) -> Element | None:
    """The first descendant along ``path`` (tags are local names: see ``rows``)."""
    current = element
    for name in path:
        if current is None:
            return None
        current = current.find(name)
    return current


def _all(element: Element | None, name: str) -> list[Element]:
    return [] if element is None else element.findall(name)


def _text(element: Element | None, *path: str) -> str:
    found = _find(element, *path)
    return (found.text or "").strip() if found is not None else ""


def _code(element: Element | None, *path: str) -> str:
    """A code written as text (.02 to .07) or as ``Cd``/``Prtry`` inside (.08 on)."""
    found = _find(element, *path)
    if found is None:
        return ""
    return (found.text or "").strip() or _text(found, "Cd") or _text(found, "Prtry")


def _party(details: Element | None, role: str) -> str:
    parties = _find(details, "RltdPties")
    for name in (role, f"Ultmt{role}"):
        found = _text(parties, name, "Pty", "Nm") or _text(parties, name, "Nm")
        if found:
            return found
    return ""


def _batch_size(entry: Element) -> int:
    count = _text(entry, "NtryDtls", "Btch", "NbOfTxs")
    return int(count) if count.isdigit() and len(count) < 10 else 0


def _iban(element: Element | None) -> str:
    return _text(element, "Id", "IBAN") or _text(element, "Id", "Othr", "Id")


def _day(text: str, what: str) -> date:
    """An ISO date or date-time as the bank's local date: its first ten characters, any zone
    (``+01:00``, ``-05:00``, ``Z``) ignored."""
    rest = text[10:]
    if rest and rest[0] not in "T+-Z":
        raise ValueProblem("invalid_date", f"{what} is not an ISO date: {text[:40]!r}.")
    return date_parse(text[:10], "%Y-%m-%d")


def _local_date(element: Element | None, what: str) -> date | None:
    """The ``Dt`` or ``DtTm`` inside ``element`` (see ``_day``)."""
    text = _text(element, "Dt") or _text(element, "DtTm")
    return _day(text, what) if text else None


class CamtReader:
    """Rows of every statement, report or notification; ``statements`` lists them."""

    mapping: dict[str, object]

    def __init__(self, opener: Callable[[], BinaryIO], *, currency: str) -> None:
        self.opener = opener
        self.currency = currency
        self.mapping = {}
        self.statements: list[Statement] = []
        self.format = "camt053"
        self.kind = "statement"

    def rows(self) -> Iterator[Row | RowError]:
        self.statements = []
        number, entries = 0, 0
        stack: list[Element] = []
        names: dict[str, str] = {}
        container = "Stmt"
        statement: Statement | None = None
        with self.opener() as raw:
            try:
                for event, element in iterparse(raw, events=("start", "end"), forbid_dtd=True):
                    if event == "start":
                        # Local names from here on: every version's namespace reads alike,
                        # and find() stays on ElementTree's C path.
                        name = names.get(element.tag) or names.setdefault(
                            element.tag, _local(element.tag)
                        )
                        element.tag = name
                        if len(stack) == 1:
                            self._message(name)
                            container = MESSAGES[name][1]
                        elif len(stack) == 2 and name == container:
                            statement = Statement("", kind=self.kind)
                            self.statements.append(statement)
                        stack.append(element)
                        continue
                    stack.pop()
                    depth, name = len(stack), element.tag
                    if depth == 3 and statement is not None:  # a child of Stmt/Rpt/Ntfctn
                        if name == "Ntry":
                            entries += 1
                            for row in self._rows(number, entries, element, statement):
                                number += 1
                                statement.rows += 1
                                yield row
                            stack[-1].remove(element)
                        else:
                            self._statement_part(statement, name, element)
                    elif depth == 2 and name == container:
                        stack[-1].remove(element)
            except DefusedXmlException as exc:
                raise ImportFileError(
                    "The XML declares a DTD or entities, which statements never need.",
                    code="import_xml_forbidden",
                ) from exc
            except ValueError as exc:  # expat: "multi-byte encodings are not supported"
                if isinstance(exc, ValueProblem):
                    raise
                raise ImportFileError(
                    "The XML declares a character encoding Kore does not read; statements are "
                    "UTF-8.",
                    code="import_encoding_unsupported",
                ) from exc
            except LookupError as exc:  # <?xml encoding="…"?> names no codec Python has
                raise ImportFileError(
                    "The XML declares an unknown character encoding; statements are UTF-8.",
                    code="import_encoding_unsupported",
                ) from exc
            except ParseError as exc:
                line, column = exc.position
                raise ImportFileError(
                    f"The XML is not well-formed at line {line}, column {column}.",
                    code="import_file_malformed",
                    line=line,
                ) from exc
        if not self.statements:
            raise ImportFileError(
                "The file holds no statement, report or notification.", code="import_no_statement"
            )

    def _message(self, name: str) -> None:
        if name not in MESSAGES:
            raise ImportFileError(
                f"This XML is not a bank statement (its message is {name[:40]!r}); Kore reads "
                "camt.052, camt.053 and camt.054.",
                code="import_format_unknown",
            )
        self.format, _, self.kind = MESSAGES[name]

    def _statement_part(self, statement: Statement, name: str, element: Element) -> None:
        """The account and the balances, from the children of a Stmt/Rpt/Ntfctn."""
        try:
            if name == "Acct":
                statement.account_ref = _iban(element)
                statement.currency = _text(element, "Ccy")
            elif name == "Bal":
                kind = _code(element, "Tp", "CdOrPrtry")
                amount = self._balance(element, statement)
                day = _local_date(_find(element, "Dt"), "Bal/Dt")
                if kind in OPENING and statement.opening_balance is None:
                    statement.opening_balance, statement.opening_date = amount, day
                elif kind in CLOSING:
                    statement.closing_balance, statement.closing_date = amount, day
            elif name == "FrToDt":
                start = _text(element, "FrDtTm") or _text(element, "FrDt")
                end = _text(element, "ToDtTm") or _text(element, "ToDt")
                statement.start = _day(start, "FrToDt") if start else None
                statement.end = _day(end, "FrToDt") if end else None
        except ValueProblem as problem:
            raise ImportFileError(
                f"The statement of account {statement.account_ref or '?'}: {problem.message}",
                code="import_file_malformed",
            ) from problem

    def _balance(self, element: Element, statement: Statement) -> Decimal:
        found = _find(element, "Amt")
        currency = found.get("Ccy", "") if found is not None else ""
        statement.currency = statement.currency or currency
        amount = amount_parse(
            (found.text or "").strip() if found is not None else "",
            decimal=".", currency=currency or statement.currency or self.currency,
        )  # fmt: skip
        return -amount if _text(element, "CdtDbtInd") == "DBIT" else amount

    # --- entries ---------------------------------------------------------------------------
    def _rows(
        self, number: int, entry_number: int, entry: Element, statement: Statement
    ) -> list[Row | RowError]:
        column = "Amt"
        transactions = [t for d in _all(entry, "NtryDtls") for t in _all(d, "TxDtls")]
        try:
            single = transactions[:1] if len(transactions) == 1 else []
            amount, currency, original, original_currency = self._amounts(
                [entry, *single], statement
            )
            if _text(entry, "CdtDbtInd") == "DBIT":
                amount = -amount
                original = -original if original is not None else None
            column = "BookgDt"
            occurred_on = _local_date(_find(entry, "BookgDt"), "BookgDt") or _local_date(
                _find(entry, "ValDt"), "ValDt"
            )
            if occurred_on is None:
                raise ValueProblem("invalid_date", "The entry has no booking or value date.")
            column = "Sts"
            status = _code(entry, "Sts")
            state = "pending" if self.kind == "intraday" else STATES.get(status or "BOOK", "")
            if not state:
                raise ValueProblem("invalid_state", f"Unknown entry status {status[:10]!r}.")
            column = "NtryDtls"
            bank_id = _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef")
            entry_row = Row(
                line=number + 1, occurred_on=occurred_on, amount=amount,
                reference=text_clean(bank_id, "reference"), currency=currency,
                bank_state=state, bank_id=bank_id, account_ref=statement.account_ref,
                metadata=self._entry_metadata(entry, entry_number),
            )  # fmt: skip
            if len(transactions) > 1:
                return self._split(entry_row, entry, transactions, statement) or [
                    self._batch(entry_row, entry, transactions)
                ]
            if _batch_size(entry) > 1:  # a batch the bank does not detail
                return [self._batch(entry_row, entry, transactions)]
            description, counterparty, notes, extra = self._texts(entry, single, amount)
            return [
                replace(
                    entry_row,
                    original_amount=original,
                    original_currency=original_currency,
                    description=text_kept(description, "description", extra),
                    counterparty=text_clean(counterparty, "counterparty"),
                    notes=notes,
                    metadata={**(entry_row.metadata or {}), **extra},
                )
            ]
        except ValueProblem as problem:
            return [RowError(number + 1, column, problem.code, problem.message)]

    def _amounts(
        self, where: list[Element], statement: Statement
    ) -> tuple[Decimal, str, Decimal | None, str]:
        """(amount, its currency, original amount, original currency) of an entry or a
        transaction: the amount in the account's currency when the bank gives one, another
        currency's amount (instructed, or the entry's own) as the original."""
        amounts: list[tuple[str, str]] = []
        own = _find(where[0], "Amt")
        if own is not None:
            amounts.append(((own.text or "").strip(), own.get("Ccy", "")))
        for element in where:
            details = _find(element, "AmtDtls")
            for kind in ("TxAmt", "CntrValAmt", "InstdAmt"):
                found = _find(details, kind, "Amt")
                if found is not None:
                    amounts.append(((found.text or "").strip(), found.get("Ccy", "")))
        if not amounts:
            raise ValueProblem("invalid_amount", "No Amt.")
        account = statement.currency or self.currency
        chosen = next((a for a in amounts if a[1] == account), amounts[0])
        amount = amount_parse(chosen[0], decimal=".", currency=chosen[1] or account)
        other = next((a for a in amounts if a[1] and a[1] != chosen[1]), None)
        if other is None:
            return amount, chosen[1], None, ""
        original = amount_parse(other[0], decimal=".", currency=other[1])
        return amount, chosen[1], original, other[1]

    def _texts(
        self, entry: Element, transactions: list[Element], amount: Decimal
    ) -> tuple[str, str, str, dict[str, str]]:
        """(description, counterparty, notes, metadata): the remittance text first, then the
        transaction's and the entry's additional information, then a structured reference (a
        number: the last resort); what is not the description is kept in the notes."""
        details = transactions[0] if transactions else None
        remittance = _find(details, "RmtInf")
        unstructured = " ".join((c.text or "").strip() for c in _all(remittance, "Ustrd"))
        structured = " ".join(
            text for s in _all(remittance, "Strd")
            if (text := _text(s, "CdtrRefInf", "Ref") or _text(s, "AddtlRmtInf"))
        )  # fmt: skip
        candidates = [unstructured, _text(details, "AddtlTxInf"), _text(entry, "AddtlNtryInf"),
                      structured]  # fmt: skip
        texts = [t for t in dict.fromkeys(candidates) if t]
        description = texts[0] if texts else ""
        notes = " · ".join(texts[1:])[:1000]
        counterparty = _party(details, "Cdtr" if amount < 0 else "Dbtr")
        metadata: dict[str, str] = {}
        parties = _find(details, "RltdPties")
        if iban := _iban(_find(parties, "CdtrAcct" if amount < 0 else "DbtrAcct")):
            metadata["counterparty_account"] = iban[:500]
        for key, path in (
            ("end_to_end_id", ("Refs", "EndToEndId")),
            ("mandate_id", ("Refs", "MndtId")),
            ("transaction_id", ("Refs", "TxId")),
            ("purpose", ("Purp", "Cd")),
        ):
            value = _text(details, *path)
            if value and value != _NOT_PROVIDED:
                metadata[key] = value[:500]
        if structured:
            metadata["structured_reference"] = structured[:500]
        return description, counterparty, notes, metadata

    def _entry_metadata(self, entry: Element, entry_number: int) -> dict[str, str]:
        metadata = {"entry": str(entry_number), "message": self.format}
        status = _code(entry, "Sts")
        if status and status != "BOOK":
            metadata["status"] = status[:10]
        if _text(entry, "RvslInd").lower() in ("true", "1"):
            metadata["reversal"] = "true"
        code = _find(entry, "BkTxCd")
        family = "/".join(
            t for t in (_text(code, "Domn", "Cd"), _text(code, "Domn", "Fmly", "Cd"),
                        _text(code, "Domn", "Fmly", "SubFmlyCd")) if t
        ) or _text(code, "Prtry", "Cd")  # fmt: skip
        if family:
            metadata["bank_transaction_code"] = family[:500]
        if value_date := _text(entry, "ValDt", "Dt") or _text(entry, "ValDt", "DtTm"):
            metadata["value_date"] = value_date[:40]
        return metadata

    def _split(
        self, entry_row: Row, entry: Element, transactions: list[Element], statement: Statement
    ) -> list[Row | RowError]:
        """A batch's transactions, when each states its amount in the entry's currency and they
        add up to the entry; [] otherwise."""
        parts = []
        for details in transactions:
            try:
                amount, currency, original, original_currency = self._amounts([details], statement)
            except ValueProblem:
                return []
            if currency != entry_row.currency:
                return []
            indicator = _text(details, "CdtDbtInd") or _text(entry, "CdtDbtInd")
            signed = -amount if indicator == "DBIT" else amount
            if original is not None and indicator == "DBIT":
                original = -original
            parts.append((details, signed, original, original_currency))
        if sum(p[1] for p in parts) != entry_row.amount:
            return []
        rows: list[Row | RowError] = []
        for index, (details, signed, original, original_currency) in enumerate(parts):
            line = entry_row.line + index
            description, counterparty, notes, extra = self._texts(entry, [details], signed)
            own_ref = _text(details, "Refs", "AcctSvcrRef")
            end_to_end = _text(details, "Refs", "EndToEndId")
            if end_to_end == _NOT_PROVIDED:
                end_to_end = ""
            bank_id = own_ref or f"{entry_row.bank_id}/{index + 1}"
            try:
                rows.append(replace(
                    entry_row, line=line, amount=signed, original_amount=original,
                    original_currency=original_currency,
                    description=text_kept(description, "description", extra),
                    counterparty=text_clean(counterparty, "counterparty"),
                    reference=text_clean(own_ref or end_to_end or bank_id, "reference"),
                    bank_id=bank_id, notes=notes,
                    metadata={**(entry_row.metadata or {}), **extra,
                              "batch": f"{index + 1} of {len(parts)}"},
                ))  # fmt: skip
            except ValueProblem as problem:
                rows.append(RowError(line, "TxDtls", problem.code, problem.message))
        return rows

    def _batch(self, entry_row: Row, entry: Element, transactions: list[Element]) -> Row:
        """One row for a batch whose parts cannot be told apart: it says what it is."""
        count = _text(entry, "NtryDtls", "Btch", "NbOfTxs") or str(len(transactions))
        parts = []
        for details in transactions[:50]:
            text, counterparty, _, _ = self._texts(entry, [details], entry_row.amount)
            parts.append(" ".join(t for t in (counterparty, text) if t))
        extra = _text(entry, "AddtlNtryInf")
        description = f"Batch of {count[:10]} transactions" + (f": {extra}" if extra else "")
        return replace(
            entry_row,
            description=text_clean(description[:500], "description"),
            notes=" · ".join(p for p in parts if p)[:1000],
            metadata={**(entry_row.metadata or {}), "batch": count[:20]},
        )
