"""Statement readers: each turns a stored file into a stream of ``Row`` or ``RowError``.

A reader is built from an ``opener`` (a callable returning a fresh binary handle), so the import
can read the file twice (validate, then write) and a resumed import can start over; nothing holds
the whole file in memory except OFX, which ofxtools parses whole (capped at ``OFX_MAX_BYTES``).
"""

from collections.abc import Callable, Iterator
from typing import BinaryIO, Protocol

from .base import ImportFileError, Row, RowError
from .camt_reader import CamtReader
from .csv_reader import CsvReader
from .ofx_reader import OfxReader

Opener = Callable[[], BinaryIO]

__all__ = ["ImportFileError", "Reader", "Row", "RowError", "format_detect", "reader_open"]

SNIFF_BYTES = 4096


class Reader(Protocol):
    mapping: dict[str, object]

    def rows(self) -> Iterator[Row | RowError]: ...


def format_detect(head: bytes, name: str) -> str:
    """csv, ofx, qfx or camt053, from the first bytes (the name only tells OFX from QFX)."""
    text = head[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n").upper()
    lower_name = name.lower()
    if text.startswith(b"OFXHEADER") or b"<OFX>" in text or b"<?OFX" in text:
        return "qfx" if lower_name.endswith(".qfx") else "ofx"
    if text.startswith(b"<?XML") or text.startswith(b"<DOCUMENT") or text.startswith(b"<!DOCTYPE"):
        return "camt053"
    return "csv"


def reader_open(
    fmt: str, opener: Opener, *, currency: str, size: int, mapping: dict[str, object]
) -> Reader:
    """The reader for ``fmt``; CSV detection (encoding, delimiter, columns) happens here."""
    if fmt == "csv":
        return CsvReader(opener, currency=currency, mapping=mapping)
    if fmt in ("ofx", "qfx"):
        return OfxReader(opener, currency=currency, size=size)
    if fmt == "camt053":
        return CamtReader(opener, currency=currency)
    raise ImportFileError(f"Unknown format {fmt!r}.", code="import_format_unknown")
