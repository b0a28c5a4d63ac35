"""OFX and QFX statements, parsed by ofxtools (SGML v1 and XML v2)."""

import logging
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO
from xml.etree import ElementTree as ET

from .base import ImportFileError, Row, RowError, ValueProblem, date_check, text_clean

logging.getLogger("ofxtools").setLevel(logging.WARNING)  # it logs every element at INFO

# ofxtools reads the whole document; a statement file is a few MB, this bounds a hostile one.
OFX_MAX_BYTES = 50 * 1024 * 1024


class OfxReader:
    mapping: dict[str, object]

    def __init__(self, opener: Callable[[], BinaryIO], *, currency: str, size: int) -> None:
        if size > OFX_MAX_BYTES:
            raise ImportFileError(
                f"OFX files are at most {OFX_MAX_BYTES} bytes.", code="import_file_too_large"
            )
        self.opener = opener
        self.currency = currency
        self.mapping = {}

    def _tree(self) -> ET.Element:
        # Imported here: ofxtools costs ~16 MB per process, and only OFX imports need it.
        from ofxtools.header import OFXHeaderError
        from ofxtools.Parser import OFXTree, ParseError

        tree = OFXTree()
        try:
            with self.opener() as raw:
                tree.parse(raw)
        except (OFXHeaderError, ParseError, ValueError, UnicodeDecodeError) as exc:
            raise ImportFileError(
                f"Not a readable OFX file: {str(exc)[:200]}", code="import_file_malformed"
            ) from exc
        root = tree.getroot()
        assert root is not None
        return root

    def rows(self) -> Iterator[Row | RowError]:
        root = self._tree()
        for statement in root.iter("STMTRS"):
            self._check_currency(statement)
        for statement in root.iter("CCSTMTRS"):
            self._check_currency(statement)
        for number, element in enumerate(root.iter("STMTTRN"), start=1):
            yield self._row(number, element)

    def _check_currency(self, statement: ET.Element) -> None:
        curdef = (statement.findtext("CURDEF") or "").strip()
        if curdef and curdef != self.currency:
            raise ImportFileError(
                f"The statement is in {curdef}; the account is in {self.currency}.",
                code="import_currency_mismatch",
            )

    def _row(self, number: int, element: ET.Element) -> Row | RowError:
        from ofxtools.models.base import Aggregate  # see _tree

        try:
            trn: Any = Aggregate.from_etree(element)
        except Exception as exc:  # ofxtools raises many types for one bad element
            return RowError(number, "STMTTRN", "invalid_entry", str(exc)[:200])
        try:
            occurred_on = date_check(trn.dtposted.date())
            amount = trn.trnamt
            if amount is None or len(amount.as_tuple().digits) > 20:
                raise ValueProblem("amount_too_large", "The amount has too many digits.")
            name = text_clean(trn.name or "", "counterparty")
            memo = text_clean(trn.memo or "", "description")
            reference = text_clean(trn.fitid or "", "reference")
        except ValueProblem as problem:
            return RowError(number, "STMTTRN", problem.code, problem.message)
        return Row(number, occurred_on, amount, memo or name, name, reference)
