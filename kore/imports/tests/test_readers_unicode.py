"""No reader hands a lone surrogate on to a description, counterparty or reference.

PostgreSQL cannot store one and the API would have to mend it on every page, so a surrogate in
a file (as UTF-8 bytes, a UTF-16 half, or a character reference) is a file or row error, or text
with U+FFFD, never a surrogate in a Row.
"""

import io
import re

import pytest

from kore.imports.readers import ImportFileError, Row, format_detect, reader_open

from .conftest import fixture_bytes

SURROGATE = re.compile("[\ud800-\udfff]")
CSV_MAPPING = {"date": "date", "amount": "amount", "description": "description",
               "counterparty": "counterparty", "reference": "reference"}  # fmt: skip
CSV_HEAD = b"date,amount,description,counterparty,reference\n"


def _rows(name: str, data: bytes, mapping: dict[str, object] | None = None) -> list[Row]:
    fmt = format_detect(data[:4096], name)
    reader = reader_open(fmt, lambda: io.BytesIO(data), currency="EUR", size=len(data),
                         mapping=mapping or {})  # fmt: skip
    return [row for row in reader.rows() if isinstance(row, Row)]


def _texts(rows: list[Row]) -> list[str]:
    return [text for row in rows for text in (row.description, row.counterparty, row.reference)]


@pytest.mark.parametrize(
    "line",
    [
        b"2024-01-02,-1.00,caf\xed\xa0\xbd,shop\xed\xb0\x80,ref\n",  # surrogates encoded as UTF-8
        b"2024-01-02,-1.00,\xf0\x9f\x98,x,y\n",  # a truncated 4-byte sequence
        b"2024-01-02,-1.00,&#xD83D;,\\ud83d,&#55357;\n",  # references and escapes stay literal
    ],
)
def test_a_csv_never_yields_a_surrogate(line):
    rows = _rows("x.csv", CSV_HEAD + line, CSV_MAPPING)
    assert len(rows) == 1
    assert not any(SURROGATE.search(text) for text in _texts(rows))


@pytest.mark.parametrize("reference", [b"&#xD83D;", b"&#55357;", b"&#xDC00;x"])
def test_an_ofx_character_reference_to_a_surrogate_is_never_a_surrogate(reference):
    data = fixture_bytes("statement.ofx").replace(b"GROCER", b"GRO" + reference + b"CER")
    rows = _rows("x.ofx", data)
    assert rows
    assert not any(SURROGATE.search(text) for text in _texts(rows))


@pytest.mark.parametrize(("encoding", "charset"), [(b"UNICODE", b"NONE"), (b"UNICODE", b"1252")])
def test_ofx_bytes_that_encode_a_surrogate_never_yield_one(encoding, charset):
    data = fixture_bytes("statement.ofx").replace(b"ENCODING:USASCII", b"ENCODING:" + encoding)
    data = data.replace(b"CHARSET:1252", b"CHARSET:" + charset)
    data = data.replace(b"GROCER", b"GRO\xed\xa0\xbdCER")
    try:
        rows = _rows("x.ofx", data)
    except ImportFileError as exc:
        rows = []
        message = exc.message
    else:
        message = ""
    assert message.startswith("Not a readable OFX file") or rows
    assert not any(SURROGATE.search(text) for text in _texts(rows))


@pytest.mark.parametrize("reference", [b"&#xD83D;", b"&#55357;"])
def test_a_camt_character_reference_to_a_surrogate_is_a_file_error(reference):
    data = fixture_bytes("camt053.xml").replace(b"Stadtwerke", b"Stadt" + reference + b"werke")
    with pytest.raises(ImportFileError):
        _rows("x.xml", data)
