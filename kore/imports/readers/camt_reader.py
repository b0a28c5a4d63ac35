"""ISO 20022 CAMT.053 bank-to-customer statements, streamed with a hardened ``iterparse``.

defusedxml refuses any DTD (so no entity expansion, no XML bomb, no external entity or DTD);
each ``<Ntry>`` is turned into a row and removed from the tree at once, so memory stays flat.
"""

from collections.abc import Callable, Iterator
from datetime import date
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from .base import (
    ImportFileError,
    Row,
    RowError,
    ValueProblem,
    amount_parse,
    date_check,
    date_parse,
    text_clean,
)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(element: Element, *path: str) -> Element | None:
    """The first descendant along ``path`` (local names: namespace versions differ)."""
    current: Element | None = element
    for name in path:
        if current is None:
            return None
        current = next((c for c in current if _local(c.tag) == name), None)
    return current


def _text(element: Element, *path: str) -> str:
    found = _find(element, *path)
    return (found.text or "").strip() if found is not None else ""


class CamtReader:
    mapping: dict[str, object]

    def __init__(self, opener: Callable[[], BinaryIO], *, currency: str) -> None:
        self.opener = opener
        self.currency = currency
        self.mapping = {}

    def rows(self) -> Iterator[Row | RowError]:
        number = 0
        stack: list[Element] = []
        with self.opener() as raw:
            try:
                for event, element in iterparse(raw, events=("start", "end"), forbid_dtd=True):
                    if event == "start":
                        stack.append(element)
                        continue
                    stack.pop()
                    if _local(element.tag) == "Ntry":
                        number += 1
                        yield self._row(number, element)
                        if stack:
                            stack[-1].remove(element)
            except DefusedXmlException as exc:
                raise ImportFileError(
                    "The XML declares a DTD or entities, which statements never need.",
                    code="import_xml_forbidden",
                ) from exc
            except ParseError as exc:
                raise ImportFileError(
                    f"Not well-formed XML: {exc}.",
                    code="import_file_malformed",
                    line=exc.position[0],
                ) from exc

    def _row(self, number: int, entry: Element) -> Row | RowError:
        column = "Amt"
        try:
            amount_element = _find(entry, "Amt")
            if amount_element is None:
                raise ValueProblem("invalid_amount", "The entry has no Amt.")
            currency = amount_element.get("Ccy", self.currency)
            if currency != self.currency:
                raise ValueProblem(
                    "currency_mismatch", f"The entry is in {currency}; the account is not."
                )
            amount = amount_parse(amount_element.text or "", decimal=".", currency=currency)
            if _text(entry, "CdtDbtInd") == "DBIT":
                amount = -amount
            column = "BookgDt"
            occurred_on = self._date(entry)
            column = "NtryDtls"
            details = _find(entry, "NtryDtls", "TxDtls")
            description, counterparty = "", ""
            if details is not None:
                remittance = _find(details, "RmtInf")
                if remittance is not None:
                    description = " ".join(
                        (c.text or "") for c in remittance if _local(c.tag) == "Ustrd"
                    )
                party = "Cdtr" if amount < 0 else "Dbtr"
                counterparty = _text(details, "RltdPties", party, "Nm")
            description = text_clean(description or _text(entry, "AddtlNtryInf"), "description")
            reference = text_clean(
                _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef"), "reference"
            )
            counterparty = text_clean(counterparty, "counterparty")
        except ValueProblem as problem:
            return RowError(number, column, problem.code, problem.message)
        return Row(number, occurred_on, amount, description, counterparty, reference)

    def _date(self, entry: Element) -> date:
        for where in ("BookgDt", "ValDt"):
            day = _text(entry, where, "Dt")
            if day:
                return date_parse(day, "%Y-%m-%d")
            moment = _text(entry, where, "DtTm")
            if moment:
                return date_check(date_parse(moment[:10], "%Y-%m-%d"))
        raise ValueProblem("invalid_date", "The entry has no booking or value date.")
