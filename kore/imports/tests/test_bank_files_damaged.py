"""Damaged statement files: whatever the bytes, a reader yields rows and row errors or refuses the
file with an ImportFileError (a clear code for the user), never another exception (a 500)."""

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kore.imports.readers import ImportFileError, Row, RowError, format_detect, reader_open

from .conftest import fixture_bytes

SOURCES = ("ofx_bank_quirks.ofx", "ofx2_currencies.ofx", "camt053_batch.xml",
           "camt053_v08.xml", "mt940_de_sepa.sta", "mt940_nl_swift.txt", "qif_bank_us.qif",
           "qif_accounts_de.qif")  # fmt: skip


@st.composite
def damaged(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(SOURCES))
    data = bytearray(fixture_bytes(name))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(("cut", "insert", "truncate", "swap")))
        if action == "cut":
            del data[at : at + draw(st.integers(1, 40))]
        elif action == "insert":
            data[at:at] = draw(st.sampled_from(
                (b"<", b">", b"&", b"</STMTTRN>", b"<Ntry>", b":61:", b"^", b"\x00", b"\xff\xfe",
                 b"&#xD800;", b"-", b",", b"99999999999999999999", b"\n:86:?20", b"!Type:Invst\n")
            ))  # fmt: skip
        elif action == "truncate":
            del data[at:]
        elif at < len(data):
            data[at] = draw(st.integers(0, 255))
    return name, bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_a_damaged_file_is_read_or_refused_never_crashes(case):
    name, data = case
    refused: ImportFileError | None = None
    try:
        fmt = format_detect(data[:4096], name)
        reader = reader_open(fmt, lambda: io.BytesIO(data), currency="EUR", size=len(data),
                             mapping={})  # fmt: skip
        items = list(reader.rows())
    except ImportFileError as exc:
        refused, items = exc, []
    if refused is not None:
        assert refused.code.startswith("import_")
        assert not any(word in refused.message for word in ("Error", "Exception", "Traceback"))
        return
    assert all(isinstance(item, Row | RowError) for item in items)
    lines = [item.line for item in items]
    assert lines == sorted(lines)
    assert len(set(lines)) == len(lines)  # the resume cursor needs increasing lines
