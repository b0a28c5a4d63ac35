"""Tabular statements (CSV, and spreadsheets read like CSV): encoding, delimiter, header row,
columns, date format and decimal mark detected (or declared in the mapping), read row by row with
every line and field bounded.

Nothing is guessed when two readings are possible: dates that all fit day/month and month/day,
or amounts that fit both decimal marks (``1.234``), refuse the file until the mapping names a
``locale`` (or ``date_format``/``decimal``). A declared encoding that the bytes contradict is
replaced by the detected one.
"""

import codecs
import csv
import re
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .base import (
    ImportFileError,
    Row,
    RowError,
    ValueProblem,
    amount_parse,
    date_check,
    date_parse,
    text_fit,
)

SNIFF_BYTES = 64 * 1024
SAMPLE_ROWS = 200
PREAMBLE_LINES = 30  # account details and titles above the header, at most
MAX_LINE_BYTES = 64 * 1024
MAX_COLUMNS = 200
# The columns of Kore's own export (kore.exports.services.COLUMNS) that a bank import cannot book.
KORE_STRUCTURE = ("splits", "transfer", "transfer_account", "rate")
KORE_STRUCTURE_REFUSED = (
    "This is Kore's own export: a row with split lines or a transfer leg is imported whole only "
    "through POST /orgs/{slug}/imports/kore-export/ (the whole file, into the organisation)."
)
DELIMITERS = (";", ",", "\t", "|")
# Column roles a mapping names (by header name, or by 1-based position when there is no header).
ROLES = (
    "date", "amount", "debit", "credit", "direction", "currency", "original_amount",
    "original_currency", "state", "bank_id", "account_ref", "description", "counterparty",
    "reference", "notes", "category",
)  # fmt: skip
OPTIONS = ("locale", "date_format", "decimal", "delimiter", "encoding", "header_line",
           "time_zone")  # fmt: skip
# locale → (decimal mark, date formats tried first)
LOCALES: dict[str, tuple[str, tuple[str, ...]]] = {
    "en-US": (".", ("%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y")),
    "en-GB": (".", ("%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y")),
    "de-DE": (",", ("%d.%m.%Y", "%d.%m.%y")),
    "de-AT": (",", ("%d.%m.%Y", "%d.%m.%y")),
    "de-CH": (".", ("%d.%m.%Y", "%d.%m.%y")),
    "fr-FR": (",", ("%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y")),
    "fr-BE": (",", ("%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y")),
    "es-ES": (",", ("%d/%m/%Y", "%d-%m-%Y")),
    "it-IT": (",", ("%d/%m/%Y", "%d-%m-%Y")),
    "nl-NL": (",", ("%d-%m-%Y", "%d/%m/%Y")),
    "nl-BE": (",", ("%d/%m/%Y", "%d-%m-%Y")),
}
DATE_FORMATS = (
    "%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y", "%Y/%m/%d",
    "%Y%m%d", "%Y.%m.%d", "%d.%m.%y", "%d/%m/%y", "%m/%d/%y", "%d-%m-%y", "%d %b %Y",
    "%d-%b-%Y", "%d %B %Y", "%b %d, %Y", "%d-%b-%y",
)  # fmt: skip
# strftime codes a declared date_format may use (a time part is optional).
DATE_CODES = {
    "d": "day (01-31)", "m": "month (01-12)", "y": "year (24)", "Y": "year (2024)",
    "b": "month name (Jan)", "B": "month name (January)", "H": "hour (00-23)",
    "I": "hour (01-12)", "p": "AM/PM", "M": "minute", "S": "second", "f": "fraction of a second",
    "z": "UTC offset (+0100)", "%": "a literal %",
}  # fmt: skip
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1")

# Header names banks and payment apps use, for each role (compared after _header_key: lower
# case, "_" as space, a trailing "(EUR)" taken off). The first synonym found wins, so the best
# column comes first (PayPal's "net", what reaches the balance, before "gross").
SYNONYMS: dict[str, tuple[str, ...]] = {
    "date": (
        "date", "booking date", "transaction date", "posted date", "posting date", "post date",
        "date posted", "trans. date", "trans date", "started date", "created at", "created",
        "timestamp", "date/time", "datetime", "dateop", "date op", "value date", "dateval",
        "buchungstag", "buchungsdatum", "buchung", "datum", "wertstellung", "valutadatum",
        "transactiedatum", "boekdatum", "boekingsdatum", "rentedatum",
        "date opération", "date operation", "date de l'opération", "date de comptabilisation",
        "date comptable", "date valeur", "fecha", "data",
    ),
    "amount": (
        "amount", "net", "net amount", "gross", "transaction amount", "value",
        "betrag", "umsatz", "buchungsbetrag", "bedrag", "transactiebedrag",
        "montant", "montant net", "importe", "importo",
    ),
    "debit": (
        "debit", "debit amount", "debits", "withdrawal", "withdrawals", "withdrawal amount",
        "paid out", "money out", "amount out", "soll", "ausgang", "lastschrift", "af", "débit",
        "debit euros", "montant débit", "cargo",
    ),
    "credit": (
        "credit", "credit amount", "credits", "deposit", "deposits", "deposit amount",
        "paid in", "money in", "amount in", "haben", "eingang", "gutschrift", "bij", "crédit",
        "credit euros", "montant crédit", "abono",
    ),
    "direction": (
        "direction", "debit/credit", "credit/debit", "debit or credit", "dr/cr", "cr/dr", "d/c",
        "c/d", "credit debit indicator", "cdtdbtind", "soll/haben", "s/h", "af bij", "af/bij",
        "bij/af", "debet/credit", "sens", "débit/crédit", "indicator",
    ),
    "currency": (
        "currency", "currency code", "transaction currency", "ccy", "währung", "waehrung",
        "devise", "monnaie", "munt", "moneda",
    ),
    "original_amount": (
        "original amount", "foreign amount", "local amount", "amount (foreign currency)",
        "instructed amount", "originalbetrag", "fremdwährungsbetrag", "montant d'origine",
        "oorspronkelijk bedrag",
    ),
    "original_currency": (
        "original currency", "foreign currency", "local currency", "type foreign currency",
        "instructed currency", "originalwährung", "fremdwährung", "devise d'origine",
        "oorspronkelijke valuta",
    ),
    "state": (
        "state", "status", "transaction status", "booking status", "buchungsstatus", "statut",
        "état", "etat", "staat",
    ),
    "bank_id": (
        "transaction id", "transaction reference number", "transferwise id", "fitid",
        "transaktions-id", "transaktionsnummer", "id", "identifiant", "transactie-id",
    ),
    "account_ref": (
        "auftragskonto", "eigene kontonummer", "rekening", "rekeningnummer", "own account",
        "numéro de compte", "accountnum", "account num",
    ),
    "description": (
        "description", "verwendungszweck", "mededelingen", "omschrijving", "omschrijving-1",
        "libellé", "libelle", "libellé opération", "libelle operation", "détail", "memo",
        "details", "narrative", "transaction description", "transaction details",
        "remittance information", "remittance info", "purpose", "label", "buchungstext",
        "vorgang/verwendungszweck", "concepto", "text",
    ),
    "counterparty": (
        "payee", "payer", "counterparty", "name", "merchant", "payee name", "payer name",
        "beguenstigter/zahlungspflichtiger", "begünstigter/zahlungspflichtiger", "empfänger",
        "auftraggeber / empfänger", "auftraggeber/empfänger", "zahlungsempfänger",
        "auftraggeber/zahlungsempfänger", "naam / omschrijving", "naam/omschrijving",
        "naam tegenpartij", "tegenpartij", "bénéficiaire", "tiers", "contrepartie",
        "supplierfound",
    ),
    "reference": (
        "reference", "referenz", "ref", "bank reference", "kundenreferenz", "mandatsreferenz",
        "end-to-end-referenz", "payment reference", "check or slip #", "check number", "kenmerk",
        "betalingskenmerk",
        "référence", "référence de l'opération",
    ),
    "notes": (
        "notes", "note", "notes and #tags", "notiz", "bemerkung", "info", "remarque",
        "comment", "commentaire", "opmerking", "category", "kategorie", "catégorie", "type",
        "transaction type", "buchungsart", "mutatiesoort", "code",
    ),
}  # fmt: skip
# header key → (role, rank): a role takes its best-ranked column.
_SYNONYM_ROLE: dict[str, tuple[str, int]] = {}


def _plain(text: str) -> str:
    """Lower case without accents: "Débit" and "debit", "Libellé" and "libelle" meet."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


for _role, _names in SYNONYMS.items():
    for _rank, _name in enumerate(_names):
        _SYNONYM_ROLE.setdefault(_plain(_name), (_role, _rank))

# Direction spellings: English, ISO 20022, Dutch, German, French.
DIRECTIONS: dict[str, int] = {
    **dict.fromkeys(("d", "dr", "db", "debit", "dbit", "debet", "af", "s", "soll", "-",
                     "débit", "out", "withdrawal", "belastung", "lastschrift"), -1),
    **dict.fromkeys(("c", "cr", "credit", "crdt", "bij", "h", "haben", "+", "crédit", "in",
                     "deposit", "gutschrift"), 1),
}  # fmt: skip
# Bank states as banks and apps spell them → Row.bank_state (cancelled and declined rows never
# reached the balance: "reverted").
STATES: dict[str, str] = {
    **dict.fromkeys(("booked", "completed", "complete", "settled", "posted", "cleared", "done",
                     "executed", "success", "successful", "gebucht", "ausgeführt",
                     "geboekt", "verwerkt", "comptabilisé", "exécuté", "effectué", "bkd",
                     "book"), "booked"),
    **dict.fromkeys(("pending", "authorised", "authorized", "authorisation", "in progress",
                     "processing", "reserved", "on hold", "hold", "vorgemerkt", "vorgemerkte",
                     "ausstehend", "in behandeling", "gereserveerd", "en attente", "en cours",
                     "à venir", "pdng", "info"), "pending"),
    **dict.fromkeys(("reverted", "reversed", "cancelled", "canceled", "declined", "failed",
                     "rejected", "void", "voided", "storniert", "abgelehnt", "geannuleerd",
                     "geweigerd", "annulé", "annulée", "rejeté", "refusé"), "reverted"),
}  # fmt: skip
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
_HEADER_CURRENCY = re.compile(r"\s*[(\[]([a-z]{3})[)\]]$")
# One separator followed by exactly three digits ("1.234", "12,345"): a thousands group or three
# decimals; nothing in the value tells which.
_GROUPED = re.compile(r"\d{1,3}[.,]\d{3}")
_AMOUNT_EDGES = "€$£¥ \u00a0\u202f'+-()"
# A date with a time after it: "2024-01-05T14:33:10+01:00", "05.01.2024 14:33", "1/5/2024 2:33 PM".
_DATETIME = re.compile(
    r"(?P<date>.*?\d)(?:(?:T|\s+)(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,]\d{1,9})?)?"
    r"(?:\s*(?P<ampm>[AaPp])\.?[Mm]\.?)?\s*(?P<zone>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?)?"
)
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30})\b")
_ACCOUNT_LABEL = re.compile(r"iban|konto|account|rekening|compte", re.IGNORECASE)


def encoding_detect(head: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as UTF-8, else CP1252 or Latin-1."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(
            "UTF-16 files are not supported; save the CSV as UTF-8.",
            code="import_encoding_unsupported",
        )
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise ImportFileError(
            "This is an Excel 97-2003 workbook (.xls), which Kore does not read: save it as "
            "XLSX, ODS or CSV.",
            code="import_format_unknown",
        )
    if b"\x00" in head or sum(b < 9 or 13 < b < 32 for b in head) > len(head) // 100:
        raise ImportFileError("This is not a text file.", code="import_file_binary")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    try:
        head.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"  # bytes CP1252 leaves undefined (0x81, 0x8D, …)
    return "cp1252"


def encoding_choose(head: bytes, declared: object) -> str:
    """The declared encoding unless the bytes contradict it: UTF-8 declared for bytes that are
    not UTF-8, a single-byte charset declared for bytes that are UTF-8 text (declaring Latin-1
    would turn "ü" into "Ã¼"), or Latin-1 for CP1252's "€" and quotes."""
    detected = encoding_detect(head)
    if not isinstance(declared, str) or not declared:
        return detected
    utf8 = detected in ("utf-8", "utf-8-sig")
    if declared in ("utf-8", "utf-8-sig"):
        return declared if utf8 else detected
    if utf8:
        return detected if any(b >= 0x80 for b in head) else declared
    if declared == "latin-1" and detected == "cp1252" and any(0x80 <= b < 0xA0 for b in head):
        return detected
    return declared


def delimiter_detect(line: str) -> str:
    counts = {d: line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    if not counts[best]:
        raise ImportFileError(
            "The header has no ; , tab or | delimiter.", code="import_delimiter_unknown", line=1
        )
    return best


def lines_read(raw: BinaryIO, encoding: str) -> Iterator[str]:
    """Decoded lines, each at most MAX_LINE_BYTES; a bad byte fails the file with its line."""
    decoder = codecs.getincrementaldecoder(encoding)()
    number = 0
    while chunk := raw.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(chunk) > MAX_LINE_BYTES:
            raise ImportFileError(
                f"Line {number} is longer than {MAX_LINE_BYTES} bytes.",
                code="import_line_too_long",
                line=number,
            )
        try:
            yield decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"Line {number} is not valid {encoding}; declare the file's encoding.",
                code="import_encoding_error",
                line=number,
            ) from exc
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            "The file ends inside a character (truncated?).", code="import_encoding_error",
            line=number,
        ) from exc  # fmt: skip


def _header_key(name: str) -> tuple[str, str]:
    """A header name as synonyms are written, and the currency it names ("Bedrag (EUR)")."""
    key = " ".join(_plain(name.replace("_", " ").strip().strip("\"'")).split())
    match = _HEADER_CURRENCY.search(key)
    if match:
        return key[: match.start()], match.group(1).upper()
    return key, ""


def _declared_columns(declared: dict[str, object]) -> dict[str, object]:
    return {role: declared[role] for role in ROLES if declared.get(role) not in (None, "")}


def mapping_resolve(
    header: list[str], declared: dict[str, object], *, line: int = 1, strict: bool = True
) -> dict[str, int] | None:
    """Role → column position: declared columns (header name or 1-based position) win, then
    known header names. ``strict=False`` answers None where ``strict`` raises (header search)."""
    resolved: dict[str, int] = {}
    for role, wanted in _declared_columns(declared).items():
        if isinstance(wanted, int) and not isinstance(wanted, bool):
            resolved[role] = wanted - 1
        elif isinstance(wanted, str) and wanted in header:
            resolved[role] = header.index(wanted)
        elif strict:
            raise ImportFileError(
                f"The mapping names column {wanted!r} for {role}; the header has no such column.",
                code="import_mapping_invalid",
                line=line,
            )
        else:
            return None
    taken = set(resolved.values())
    best: dict[str, tuple[int, int]] = {}
    for at, name in enumerate(header):
        known = _SYNONYM_ROLE.get(_header_key(name)[0])
        if known is None or known[0] in resolved or at in taken:
            continue
        role, rank = known
        if role not in best or rank < best[role][0]:
            best[role] = (rank, at)
    resolved.update({role: at for role, (_, at) in best.items()})
    if resolved.get("debit") is not None and "credit" not in resolved:
        del resolved["debit"]  # a lone "Soll" or "Af" is not an amount column
    if resolved.get("credit") is not None and "debit" not in resolved:
        del resolved["credit"]
    if "date" not in resolved or not ("amount" in resolved or "debit" in resolved):
        if strict:
            raise ImportFileError(
                "Map the date and amount (or debit and credit) columns; the header is: "
                + ", ".join(repr(h) for h in header[:20])[:300],
                code="import_mapping_incomplete",
                line=line,
            )
        return None
    return resolved


def _order(fmt: str) -> str:
    """ "dmy", "mdy" or "ymd": the order a format reads day and month in."""
    day = fmt.find("%d")
    month = max(fmt.find("%m"), fmt.find("%b"), fmt.find("%B"))
    year = max(fmt.find("%Y"), fmt.find("%y"))
    return "".join(k for _, k in sorted([(day, "d"), (month, "m"), (year, "y")]))


def _fits(values: list[str], fmt: str) -> bool:
    try:
        for value in values:
            date_parse(value, fmt)
    except ValueProblem as problem:
        return problem.code == "date_out_of_range"  # the format fits; the row reports its range
    return True


def date_format_detect(values: list[str], preferred: tuple[str, ...]) -> str:
    """The format every sampled date fits. A locale's formats are tried first; without one,
    dates that fit day/month and month/day alike are refused (05/02/2024)."""
    for fmt in preferred:
        if _fits(values, fmt):
            return fmt
    fitting = [fmt for fmt in DATE_FORMATS if _fits(values, fmt)]
    if not fitting or not values:
        return DATE_FORMATS[0]  # nothing fits: every row reports invalid_date
    if len({_order(fmt) for fmt in fitting}) > 1:
        raise ImportFileError(
            f"Every date fits both day/month and month/day (e.g. {values[0][:20]!r}): set the "
            "mapping's locale (en-US reads month first; en-GB, fr-FR, de-DE day first) or its "
            f"date_format (e.g. {fitting[0]}).",
            code="import_date_ambiguous",
        )
    return fitting[0]


def decimal_detect(values: list[str]) -> str:
    """The decimal mark the amounts show ("" when none shows one). Refuses a value that reads
    both ways ("1.234": thousands or three decimals) and a file that uses both marks."""
    seen: set[str] = set()
    for value in values:
        core = value.strip().strip(_AMOUNT_EDGES)
        dot, comma = core.rfind("."), core.rfind(",")
        if dot < 0 and comma < 0:
            continue
        if _GROUPED.fullmatch(core):
            raise ImportFileError(
                f"The amount {value.strip()[:20]!r} reads as thousands or as decimals: set the "
                "mapping's locale (e.g. de-DE or fr-FR for a decimal comma, en-GB or en-US for a "
                "decimal point) or its decimal.",
                code="import_amount_ambiguous",
            )
        if dot >= 0 and comma >= 0:
            seen.add("." if dot > comma else ",")
        elif core.count(".") > 1 or core.count(",") > 1:
            seen.add("," if dot >= 0 else ".")  # 1.234.567: the dots group thousands
        else:
            seen.add("." if dot >= 0 else ",")
    if len(seen) > 1:
        raise ImportFileError(
            "Some amounts use a decimal point and others a decimal comma: set the mapping's "
            "locale or its decimal.",
            code="import_amount_ambiguous",
        )
    return seen.pop() if seen else ""


def _zone(name: object) -> ZoneInfo | timezone:
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return UTC


class TableReader:
    """A statement as rows of text fields, read with one mapping; ``mapping`` is what was used
    (saved for the account's next file). Subclasses provide ``_records``: (line, fields) for
    every row of the file, in order."""

    def __init__(self, *, currency: str, mapping: dict[str, object]) -> None:
        self.currency = currency
        self.declared = mapping

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        raise NotImplementedError

    # --- set-up: header, columns, formats --------------------------------------------------
    def _setup(self, head: list[tuple[int, list[str]]]) -> None:
        """``head``: the file's first PREAMBLE_LINES + SAMPLE_ROWS records."""
        mapping = self.declared
        self.header_line, self.header = self._header_find(head)
        self.width = len(self.header) if self.header else 0
        if self.header is not None:
            resolved = mapping_resolve(self.header, mapping, line=self.header_line)
        else:
            resolved = mapping_resolve([], mapping, line=1)
        assert resolved is not None
        self.index = resolved
        widest = max(resolved.values())
        if widest >= MAX_COLUMNS or min(resolved.values()) < 0:
            raise ImportFileError(
                f"Column positions are 1 to {MAX_COLUMNS}.", code="import_mapping_invalid"
            )
        self._need = widest + 1
        self.columns = {
            role: self.header[at] if self.header and at < len(self.header) else f"column {at + 1}"
            for role, at in resolved.items()
        }
        self._header_currency = ""
        if self.header and "amount" in resolved and resolved["amount"] < len(self.header):
            self._header_currency = _header_key(self.header[resolved["amount"]])[1]
        sample = [f for line, f in head if line > self.header_line and "".join(f).strip()]
        sample = sample[:SAMPLE_ROWS]
        self._formats(sample)
        self.account_ref = self._preamble_account(head)
        self.mapping = self._mapping_used()

    def _header_find(self, head: list[tuple[int, list[str]]]) -> tuple[int, list[str] | None]:
        declared = self.declared.get("header_line")
        if isinstance(declared, int) and not isinstance(declared, bool):
            if declared == 0:
                return 0, None
            for line, fields in head:
                if line == declared:
                    return line, [name.strip() for name in fields]
            raise ImportFileError(
                f"The mapping's header_line {declared} is past the file's first lines.",
                code="import_mapping_invalid",
            )
        columns = _declared_columns(self.declared)
        positional = bool(columns) and all(isinstance(v, int) for v in columns.values())
        # With positions declared, a header is a line whose names Kore knows.
        wanted = {} if positional else self.declared
        for line, fields in head[:PREAMBLE_LINES]:
            names = [name.strip() for name in fields]
            if len(names) > 1 and mapping_resolve(names, wanted, strict=False):
                return line, names
        if positional:
            return 0, None  # no header: the mapping gives positions
        line, first = next(((line, f) for line, f in head if "".join(f).strip()), (1, []))
        mapping_resolve([name.strip() for name in first], self.declared, line=line)
        raise ImportFileError(  # a one-column first line that names date and amount at once
            "No header row found: map the columns by position and set header_line to 0.",
            code="import_mapping_incomplete",
            line=line,
        )

    def _formats(self, sample: list[list[str]]) -> None:
        mapping = self.declared
        index = self.index
        locale = mapping.get("locale")
        decimal, preferred = LOCALES.get(locale, ("", ())) if isinstance(locale, str) else ("", ())
        declared_decimal = mapping.get("decimal")
        amounts = [r[index[k]] for r in sample
                   for k in ("amount", "debit", "credit", "original_amount")
                   if k in index and len(r) > index[k]]  # fmt: skip
        if isinstance(declared_decimal, str) and declared_decimal:
            decimal = declared_decimal
        self.decimal_known = bool(decimal)
        if not decimal:
            decimal = decimal_detect(self._decimal_values(amounts))
            self.decimal_known = bool(decimal)
        self.decimal: str = decimal or "."
        at = index["date"]
        dates = [r[at].strip() for r in sample if len(r) > at and r[at].strip()]
        split = [_DATETIME.fullmatch(d) for d in dates]
        self.has_time = any(m and m.group("h") for m in split)
        declared_format = mapping.get("date_format")
        if isinstance(declared_format, str) and declared_format:
            self.date_format = declared_format
        else:
            parts = [m.group("date") if m else d for m, d in zip(split, dates, strict=True)]
            self.date_format = date_format_detect(parts, preferred)
        self.format_has_time = any(c in self.date_format for c in ("%H", "%I"))
        self.zone = _zone(mapping.get("time_zone"))
        self.zone_name = str(mapping.get("time_zone") or "UTC")

    def _decimal_values(self, values: list[str]) -> list[str]:
        """The amounts whose decimal mark is to be found (a spreadsheet's numbers have none)."""
        return values

    def _preamble_account(self, head: list[tuple[int, list[str]]]) -> str:
        """An IBAN or account number stated above the header ("IBAN;DE12 …")."""
        for line, fields in head:
            if line >= self.header_line:
                break
            if fields and _ACCOUNT_LABEL.search(fields[0]):
                for value in fields[1:]:
                    match = _IBAN.search(value.upper())
                    if match:
                        return match.group(1).replace(" ", "")
        return ""

    def _mapping_used(self) -> dict[str, object]:
        """What this file was read with, offered for the account's next file: columns by name
        (by position without a header), and only the formats the file itself showed."""
        saved: dict[str, object] = {
            role: self.header[at] if self.header else at + 1 for role, at in self.index.items()
        }
        saved["date_format"] = self.date_format
        if self.decimal_known:
            saved["decimal"] = self.decimal
        if self.header is None:
            saved["header_line"] = 0
        saved.update(self._extra_mapping())
        return saved

    def _extra_mapping(self) -> dict[str, object]:
        return {}

    # --- rows -------------------------------------------------------------------------------
    def rows(self) -> Iterator[Row | RowError]:
        self._prepare()
        row = self._row
        after = self.header_line
        for line, fields in self._records():
            if line <= after or not "".join(fields).strip():
                continue  # preamble, header and blank lines
            yield row(line, fields)

    def _prepare(self) -> None:
        """Per-row lookups, once per pass."""
        index = self.index
        self._date_at = index["date"]
        self._amount_at = index.get("amount")
        self._texts = tuple((role, index.get(role))
                            for role in ("description", "counterparty", "reference"))  # fmt: skip
        self._extras = tuple(
            (role, index[role])
            for role in ("direction", "currency", "original_amount", "original_currency",
                         "state", "bank_id", "account_ref", "notes", "category")
            if role in index
        )  # fmt: skip
        declared = self.declared
        self._guard = not (declared.get("decimal") or declared.get("locale"))
        # Kore's own export: its split lines and transfers are rebuilt only by the import of
        # Kore's export (kore.imports.kore_export); booked here they would be flattened.
        header = self.header or []
        self._structured = tuple(
            (name, header.index(name)) for name in KORE_STRUCTURE if name in header
        ) if all(name in header for name in KORE_STRUCTURE) else ()  # fmt: skip

    def _row(self, line: int, fields: list[str]) -> Row | RowError:
        if len(fields) != self.width:
            fitted = self._fit(line, fields)
            if isinstance(fitted, RowError):
                return fitted
            fields = fitted
        if self._structured:
            for name, cell in self._structured:
                if fields[cell].strip():
                    return RowError(line, name, "kore_structure_not_kept", KORE_STRUCTURE_REFUSED,
                                    fields[cell].strip())  # fmt: skip
        # Hot path (once per row): the roles in a fixed order, the first problem reported.
        role = "date"
        try:
            occurred_on = self._date(fields[self._date_at])
            role = "amount"
            amount = self._amount(fields)
            metadata: dict[str, str] | None = None
            texts = ["", "", ""]
            for i, (role, at) in enumerate(self._texts):
                if at is not None:
                    text, full = text_fit(fields[at], role)
                    texts[i] = text
                    if full is not None:
                        metadata = {**(metadata or {}), role: full}
            description, counterparty, reference = texts
            if not self._extras:
                if self._header_currency or self.account_ref or metadata:
                    return Row(line, occurred_on, amount, description, counterparty, reference,
                               currency=self._header_currency, account_ref=self.account_ref,
                               metadata=metadata)  # fmt: skip
                return Row(line, occurred_on, amount, description, counterparty, reference)
            extra: dict[str, Any] = {"currency": self._header_currency,
                                     "account_ref": self.account_ref}  # fmt: skip
            for role, at in self._extras:
                extra[role] = fields[at]
            amount = self._extra(extra, amount)
            if "bank_id" in extra and "reference" not in self.index:
                # No reference column: the bank's id is the best reference there is. An empty
                # cell of a reference column stays empty (Kore's own export has both).
                reference = extra["bank_id"]
        except ValueProblem as problem:
            role = getattr(problem, "role", role)
            at = self.index.get(role, self.index.get("debit"))
            value = fields[at] if at is not None else ""
            if role == "amount" and "debit" in self.index:
                value = f"{fields[self.index['debit']]} / {fields[self.index['credit']]}"
            column = self.columns.get(role) or self.columns.get("debit", role)
            return RowError(line, column, problem.code, problem.message, value.strip())
        return Row(line, occurred_on, amount, description, counterparty, reference,
                   metadata=metadata, **extra)  # fmt: skip

    def _fit(self, line: int, fields: list[str]) -> list[str] | RowError:
        """A row wider or narrower than the header is read when the difference is empty: a
        trailing delimiter on every line (or on the header only) is how some banks export."""
        width = self.width
        if not width:  # no header: the mapped positions must exist
            if len(fields) >= self._need:
                return fields
            need = self._need
            return RowError(line, "", "column_count",
                            f"{len(fields)} columns where the mapping needs {need}.",
                            self.delimiter_joined(fields))  # fmt: skip
        if len(fields) > width and not "".join(fields[width:]).strip():
            return fields[:width]
        assert self.header is not None
        if len(fields) < width and not "".join(self.header[len(fields) :]).strip():
            return fields + [""] * (width - len(fields))
        return RowError(line, "", "column_count",
                        f"{len(fields)} columns where the header has {width}.",
                        self.delimiter_joined(fields))  # fmt: skip

    def delimiter_joined(self, fields: list[str]) -> str:
        return getattr(self, "delimiter", ",").join(fields)[:100]

    def _date(self, text: str) -> date:
        if not self.has_time and not self.format_has_time:
            return date_parse(text, self.date_format)
        text = text.strip()
        if self.format_has_time:
            try:
                moment = datetime.strptime(text, self.date_format)  # noqa: DTZ007 - zone below
            except ValueError as exc:
                raise ValueProblem(
                    "invalid_date", f"Not a date like {self.date_format}: {text[:40]!r}."
                ) from exc
            if moment.tzinfo is not None:
                return date_check(moment.astimezone(self.zone).date())
            return date_check(moment.date())
        match = _DATETIME.fullmatch(text)
        if match is None:
            return date_parse(text, self.date_format)
        day = date_parse(match.group("date"), self.date_format)
        zone = match.group("zone")
        if not zone:
            return day  # no offset: the date as the file writes it
        hour = int(match.group("h")) % 24
        if match.group("ampm") and match.group("ampm") in "pP" and hour < 12:
            hour += 12
        elif match.group("ampm") and match.group("ampm") in "aA" and hour == 12:
            hour = 0
        if zone in ("Z", "UTC", "GMT"):
            offset = UTC
        else:
            digits = zone[1:].replace(":", "")
            minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
            offset = timezone(timedelta(minutes=-minutes if zone[0] == "-" else minutes))
        moment = datetime.combine(day, time(hour, int(match.group("m"))), offset)
        return date_check(moment.astimezone(self.zone).date())

    def _amount_text(self, text: str) -> Decimal:
        if self._guard and _GROUPED.fullmatch(text.strip().strip(_AMOUNT_EDGES)):
            raise ValueProblem(
                "amount_ambiguous",
                f"{text.strip()[:20]!r} reads as thousands or as decimals: set the mapping's "
                "locale or decimal.",
            )
        return amount_parse(text, decimal=self.decimal, currency=self.currency)

    def _amount(self, fields: list[str]) -> Decimal:
        if self._amount_at is not None:
            text = fields[self._amount_at]
            if self._guard and ("," in text or "." in text):
                return self._amount_text(text)
            return amount_parse(text, decimal=self.decimal, currency=self.currency)
        debit, credit = fields[self.index["debit"]], fields[self.index["credit"]]
        if not debit.strip() and not credit.strip():
            raise ValueProblem("invalid_amount", "Neither debit nor credit has a value.")
        total = Decimal(0)
        if credit.strip():
            total += self._amount_text(credit)
        if debit.strip():
            total -= abs(self._amount_text(debit))
        return total

    def _extra(self, extra: dict[str, Any], amount: Decimal) -> Decimal:
        """The optional columns into Row fields; returns the amount signed by its direction. A
        problem names the role it comes from."""
        role = "direction"
        try:
            if "direction" in extra:
                word = extra.pop("direction").strip().lower()
                sign = DIRECTIONS.get(word)
                if sign is None:
                    raise ValueProblem(
                        "invalid_direction",
                        f"{word[:20]!r} is not a direction; Kore reads D/C, Debit/Credit, "
                        "DBIT/CRDT, Af/Bij, S/H and Soll/Haben.",
                    )
                if amount < 0 and sign > 0:
                    raise ValueProblem(
                        "direction_conflict", "A negative amount marked as a credit."
                    )
                amount = -abs(amount) if sign < 0 else abs(amount)
            role = "currency"
            if "currency" in extra:
                code = extra["currency"].strip().upper()
                if code and not _CURRENCY_CODE.fullmatch(code):
                    raise ValueProblem("invalid_currency", f"Not a currency code: {code[:20]!r}.")
                extra["currency"] = code or self._header_currency
            role = "original_amount"
            if "original_amount" in extra:
                text = extra["original_amount"]
                extra["original_amount"] = (
                    abs(self._amount_text(text)) * (1 if amount >= 0 else -1)
                    if text.strip()
                    else None
                )
            role = "original_currency"
            if "original_currency" in extra:
                code = extra["original_currency"].strip().upper()
                if code and not _CURRENCY_CODE.fullmatch(code):
                    raise ValueProblem("invalid_currency", f"Not a currency code: {code[:20]!r}.")
                extra["original_currency"] = code
            role = "state"
            if "state" in extra:
                word = extra.pop("state").strip().lower()
                state = STATES.get(word) if word else "booked"
                if state is None:
                    raise ValueProblem(
                        "invalid_state",
                        f"{word[:20]!r} is not a booking state; Kore reads booked/completed, "
                        "pending and reverted/cancelled/declined.",
                    )
                extra["bank_state"] = state
            for role in ("bank_id", "account_ref"):
                if role in extra:
                    extra[role] = text_fit(extra[role], "reference")[0] or (
                        self.account_ref if role == "account_ref" else ""
                    )
            role = "notes"
            if "notes" in extra:
                extra["notes"] = " ".join(extra["notes"].split())[:2000]
            if "category" in extra:  # a category's name, found in the organisation at booking
                extra["category"] = " ".join(extra["category"].split())[:300]
        except ValueProblem as problem:
            problem.role = role  # type: ignore[attr-defined]
            raise
        return amount


class CsvReader(TableReader):
    """Reads a CSV statement."""

    def __init__(
        self, opener: Callable[[], BinaryIO], *, currency: str, mapping: dict[str, object]
    ) -> None:
        super().__init__(currency=currency, mapping=mapping)
        self.opener = opener
        with opener() as raw:
            head = raw.read(SNIFF_BYTES)
        if not head.strip():
            raise ImportFileError("The file is empty.", code="import_file_empty")
        self.encoding = encoding_choose(head, mapping.get("encoding"))
        self.delimiter = self._delimiter()
        self._setup(self._head())

    def _delimiter(self) -> str:
        declared = self.declared.get("delimiter")
        if isinstance(declared, str) and declared in DELIMITERS:
            return declared
        with self.opener() as raw:
            lines = []
            for text in lines_read(raw, self.encoding):
                lines.append(text)
                if len(lines) >= PREAMBLE_LINES:
                    break
        counts = {d: sum(text.count(d) for text in lines) for d in DELIMITERS}
        for delimiter in sorted(DELIMITERS, key=lambda d: -counts[d]):
            if not counts[delimiter]:
                break
            for text in lines:
                if text.count(delimiter) >= MAX_COLUMNS:
                    raise ImportFileError(
                        f"More than {MAX_COLUMNS} columns.", code="import_too_many_columns",
                        line=1,
                    )  # fmt: skip
                try:
                    fields = next(csv.reader([text], delimiter=delimiter), [])
                except csv.Error:
                    continue
                names = [name.strip() for name in fields]
                if len(names) > 1 and mapping_resolve(names, self.declared, strict=False):
                    return delimiter
        # No header found: the delimiter of the data (the last line read).
        last = next((text for text in reversed(lines) if text.strip()), lines[0] if lines else "")
        if last.count(max(DELIMITERS, key=last.count)) >= MAX_COLUMNS:
            raise ImportFileError(
                f"More than {MAX_COLUMNS} columns.", code="import_too_many_columns", line=1
            )
        return delimiter_detect(last if lines and lines[0].strip() else "")

    def _head(self) -> list[tuple[int, list[str]]]:
        head: list[tuple[int, list[str]]] = []
        try:
            for record in self._records():
                head.append(record)
                if len(head) >= PREAMBLE_LINES + SAMPLE_ROWS:
                    break
        except ImportFileError as exc:
            if exc.code != "import_csv_malformed" or not head:
                raise  # a malformed row after the header is reported with its line by rows()
        return head

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        with self.opener() as raw:
            reader = csv.reader(lines_read(raw, self.encoding), delimiter=self.delimiter,
                                strict=True)  # fmt: skip
            try:
                for fields in reader:
                    yield reader.line_num, fields
            except csv.Error as exc:
                raise ImportFileError(
                    f"Line {reader.line_num} is badly quoted, or the file is truncated.",
                    code="import_csv_malformed",
                    line=reader.line_num,
                ) from exc

    def _extra_mapping(self) -> dict[str, object]:
        return {"delimiter": self.delimiter, "encoding": self.encoding}
