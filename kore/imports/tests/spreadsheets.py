"""Spreadsheet fixtures, written part by part from the formats' specifications (ECMA-376 for
XLSX, OpenDocument 1.3 for ODS) so each test controls the exact XML a bank's export holds:
number cells as stored text (Excel keeps 17 significant digits), date cells as serials with a
date style, formulas with cached values, repeated ODS rows, and hostile archives.

A cell is ``str`` (text), ``Num("12.34")`` (a number, stored as written), ``Day(45296)`` (a date
serial with a date style), ``Formula("SUM(C2:C3)", "42")`` or None (no cell).
"""

import io
import zipfile
from dataclasses import dataclass
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Num:
    text: str


@dataclass(frozen=True)
class Day:
    serial: int


@dataclass(frozen=True)
class Formula:
    formula: str
    cached: str


Cell = str | Num | Day | Formula | None

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.styles+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Umsaetze" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/styles" Target="styles.xml"/></Relationships>'
)
# Style 1: the built-in date format 14 (m/d/yyyy, shown in the reader's locale).
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs></styleSheet>"
)


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _xlsx_cell(ref: str, cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, Num):
        return f'<c r="{ref}"><v>{cell.text}</v></c>'
    if isinstance(cell, Day):
        return f'<c r="{ref}" s="1"><v>{cell.serial}</v></c>'
    if isinstance(cell, Formula):
        return f'<c r="{ref}"><f>{escape(cell.formula)}</f><v>{cell.cached}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(cell)}</t></is></c>'


def xlsx_bytes(rows: list[list[Cell]], *, sheet_prolog: str = "") -> bytes:
    body = "".join(
        f'<row r="{r}">'
        + "".join(_xlsx_cell(f"{_column(c)}{r}", cell) for c, cell in enumerate(row))
        + "</row>"
        for r, row in enumerate(rows, start=1)
    )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + sheet_prolog
        + '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{body}</sheetData></worksheet>"
    )  # fmt: skip
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", _STYLES)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


_ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" office:version="1.3"'
)


def _ods_cell(cell: Cell) -> str:
    if cell is None:
        return "<table:table-cell/>"
    if isinstance(cell, Num):
        return (f'<table:table-cell office:value-type="float" office:value="{cell.text}">'
                f"<text:p>{cell.text}</text:p></table:table-cell>")  # fmt: skip
    if isinstance(cell, Day):
        raise TypeError("ODS dates are ISO text: use OdsDate")
    if isinstance(cell, Formula):
        return (f'<table:table-cell table:formula="of:={escape(cell.formula)}" '
                f'office:value-type="float" office:value="{cell.cached}">'
                f"<text:p>{cell.cached}</text:p></table:table-cell>")  # fmt: skip
    if isinstance(cell, OdsDate):
        return (f'<table:table-cell office:value-type="date" office:date-value="{cell.iso}">'
                f"<text:p>{cell.iso}</text:p></table:table-cell>")  # fmt: skip
    return (f'<table:table-cell office:value-type="string"><text:p>{escape(cell)}</text:p>'
            "</table:table-cell>")  # fmt: skip


@dataclass(frozen=True)
class OdsDate:
    iso: str


def ods_bytes(rows: list[list[Cell | OdsDate]], *, tail: str = "", prolog: str = "") -> bytes:
    """``tail``: raw rows after the data (e.g. LibreOffice's repeated blank rows)."""
    body = "".join(
        "<table:table-row>" + "".join(_ods_cell(cell) for cell in row) + "</table:table-row>"  # type: ignore[arg-type]
        for row in rows
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + prolog
        + f"<office:document-content {_ODS_NS}><office:body><office:spreadsheet>"
        '<table:table table:name="Umsaetze"><table:table-column table:number-columns-repeated="4"/>'
        f"{body}{tail}</table:table>"
        '<table:table table:name="Second"><table:table-row><table:table-cell '
        'office:value-type="string"><text:p>never read</text:p></table:table-cell>'
        "</table:table-row></table:table>"
        "</office:spreadsheet></office:body></office:document-content>"
    )  # fmt: skip
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet",
                         compress_type=zipfile.ZIP_STORED)  # fmt: skip
        archive.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest xmlns:manifest='
            '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
            '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/'
            'vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path='
            '"content.xml" manifest:media-type="text/xml"/></manifest:manifest>',
            compress_type=zipfile.ZIP_DEFLATED,
        )
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def zip_bomb(name: str = "xl/worksheets/sheet1.xml", megabytes: int = 200) -> bytes:
    """An XLSX-shaped archive whose sheet unpacks to ``megabytes`` of zeros (about 1000:1)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        with archive.open(name, "w", force_zip64=True) as member:
            block = b"0" * (1024 * 1024)
            for _ in range(megabytes):
                member.write(block)
    return out.getvalue()
