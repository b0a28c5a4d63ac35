"""Statement readers: each turns a stored file into a stream of ``Row`` or ``RowError``.

A reader is built from an ``opener`` (a callable returning a fresh binary handle), so the import
can read the file twice (validate, then write) and a resumed import can start over; nothing holds
the whole file in memory except OFX, MT940/942 and QIF, which are read whole (capped at
``WHOLE_FILE_MAX_BYTES``).
"""

import re
from collections.abc import Callable, Iterator
from typing import BinaryIO, Protocol

from .base import ImportFileError, Row, RowError, Statement
from .camt_reader import CamtReader
from .csv_reader import CsvReader
from .mt940_reader import MtReader, mt_kind
from .ofx_reader import OfxReader
from .qif_reader import QifReader
from .spreadsheet_reader import OdsReader, XlsxReader

Opener = Callable[[], BinaryIO]

__all__ = [
    "ImportFileError",
    "Reader",
    "Row",
    "RowError",
    "Statement",
    "format_detect",
    "reader_open",
]

SNIFF_BYTES = 4096
_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"


class Reader(Protocol):
    mapping: dict[str, object]

    def rows(self) -> Iterator[Row | RowError]: ...


_CAMT = re.compile(
    rb"camt\.05([234])\.|<(?:\w+:)?(BkToCstmrStmt|BkToCstmrAcctRpt|BkToCstmrDbtCdtNtfctn)\b"
)
_CAMT_ROOTS = {b"BkToCstmrStmt": "camt053", b"BkToCstmrAcctRpt": "camt052",
               b"BkToCstmrDbtCdtNtfctn": "camt054"}  # fmt: skip


def format_detect(head: bytes, name: str) -> str:
    """The format of a file from its first bytes (the name only tells OFX from QFX): ``ofx``,
    ``qfx``, ``camt052``/``camt053``/``camt054`` (by the message's namespace or root element; an
    XML that is none of them is read as camt053, whose reader names what it is), ``mt940`` and
    ``mt942`` (``:20:`` and ``:25:`` fields, with or without the SWIFT envelope), ``qif``
    (``!Type:``, ``!Account`` or ``!Option:`` first), ``xlsx`` and ``ods`` (ZIP archives), else
    ``csv``."""
    if head.startswith(b"PK\x03\x04"):  # a ZIP archive: an ODS names itself first
        return "ods" if _ODS_MIME in head[:SNIFF_BYTES] else "xlsx"
    text = head[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    upper = text.upper()
    if upper.startswith((b"!TYPE:", b"!ACCOUNT", b"!OPTION:", b"!CLEAR:")):
        return "qif"
    if kind := mt_kind(text.decode("latin-1").replace("\r\n", "\n")):
        return kind
    if upper.startswith(b"OFXHEADER") or b"<OFX>" in upper or b"<?OFX" in upper:
        return "qfx" if name.lower().endswith(".qfx") else "ofx"
    if upper.startswith((b"<?XML", b"<DOCUMENT", b"<!DOCTYPE")) or _CAMT.search(text):
        match = _CAMT.search(text)
        if match is None:
            return "camt053"
        return f"camt05{match.group(1).decode()}" if match.group(1) else _CAMT_ROOTS[match.group(2)]
    return "csv"


def reader_open(
    fmt: str, opener: Opener, *, currency: str, size: int, mapping: dict[str, object]
) -> Reader:
    """The reader for ``fmt``; CSV detection (encoding, delimiter, columns) happens here.

    Readers of statement formats (OFX/QFX, CAMT, MT940/942, QIF) also list ``statements`` (see
    ``Statement``) once ``rows()`` has run to its end: each statement's account, currency and
    balances.
    """
    if fmt == "csv":
        return CsvReader(opener, currency=currency, mapping=mapping)
    if fmt == "xlsx":
        return XlsxReader(opener, currency=currency, mapping=mapping)
    if fmt == "ods":
        return OdsReader(opener, currency=currency, mapping=mapping)
    if fmt in ("ofx", "qfx"):
        return OfxReader(opener, currency=currency, size=size)
    if fmt in ("camt052", "camt053", "camt054"):
        return CamtReader(opener, currency=currency)
    if fmt in ("mt940", "mt942"):
        return MtReader(opener, currency=currency, size=size, interim=fmt == "mt942")
    if fmt == "qif":
        return QifReader(opener, currency=currency, size=size, mapping=mapping)
    raise ImportFileError(f"Unknown format {fmt!r}.", code="import_format_unknown")
