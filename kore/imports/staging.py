"""The PostgreSQL write path of an import: validated rows are ``COPY``-ed into a TEMP staging
table during the validation pass, then each chunk moves from there to the ledger with one
set-based statement (duplicates found by an anti-join on the fingerprint index).

The staging table lives as long as the database session (TEMP: no WAL, invisible to other
sessions, dropped by PostgreSQL if the worker dies); it is not the ledger, so an
``all_or_nothing`` import that fails validation has still written nothing. The table holds the
rows in file order with their source line, position in the reader's stream (``read``, for the
progress figure), fingerprint and occurrence; nothing per row stays in the worker's memory.
"""

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connection
from django.db import transaction as db_transaction

from kore.ledger.services.bulk_sql import AmendedOnWrite, transactions_insert_select
from kore.orgs.models import Organization
from kore.payees.categorise import Decision, payees_ensure
from kore.suggestions.models import AppliedSuggestion
from kore.suggestions.services import CHANGE_REASON as SUGGESTION_REASON
from kore.suggestions.services import suggested_record

from .models import ImportJob
from .readers import Row

logger = logging.getLogger(__name__)

_COLUMNS = (
    "line integer NOT NULL, read integer NOT NULL, fingerprint text NOT NULL, "
    "occurrence integer NOT NULL, occurred_on date NOT NULL, amount text NOT NULL, "
    "description text NOT NULL, counterparty text NOT NULL, reference text NOT NULL, "
    "original_amount text, original_currency text NOT NULL, bank_state text NOT NULL, "
    "bank_id text NOT NULL, notes text NOT NULL, metadata text NOT NULL, "
    # The live transaction this row is booked onto instead of a new one: a bank-pending row it
    # replaces, or a row entered by hand it matches (kore.imports.booking, .matching).
    "links bigint, "
    # What payees and rules decided (kore.payees.categorise): the payee (or the normalised
    # spelling and name of a new one, created just before the chunk is written), the category
    # and the tags (a JSON array of names).
    "payee_key text NOT NULL, payee_name text NOT NULL, payee_id bigint, category_id bigint, "
    "tags text NOT NULL, "
    # What auto-apply chose for a row nothing else gave a category (kore.suggestions): the
    # top suggestion's category, written as the row's, and the suggestions as its
    # AppliedSuggestion row keeps them (suggested_record).
    "suggested_category bigint, suggested text, "
    # What is done to the row once written (a JSON object, usually empty): split lines
    # ("split": [[category id, amount], …]) and a transfer ("transfer": account id).
    "extra text NOT NULL, "
    # The transaction the chunk's insert wrote for the row (Staging.insert): what its applied
    # suggestion, tags and extras are written onto.
    "tx bigint"
)
_COPY_COLUMNS = (
    "line, read, fingerprint, occurrence, occurred_on, amount, description, counterparty, "
    "reference, original_amount, original_currency, bank_state, bank_id, notes, metadata, "
    "payee_key, payee_name, payee_id, category_id, tags, suggested_category, suggested, extra"
)
_ROW_COLUMNS = (
    "s.line, s.occurred_on, s.amount, s.description, s.counterparty, s.reference, "
    "s.original_amount, s.original_currency, s.bank_state, s.bank_id, s.notes, s.metadata"
)
# The live transaction of the account holding a staged row's fingerprint, probed through the
# ledger_tx_fingerprint index once per staged row. The account id is an InitPlan parameter
# ("(SELECT %s)") and the probe a LIMITed subquery (which EXISTS cannot flatten into a join) on
# purpose: the planner's statistics never know how many rows a freshly imported account has (an
# import adds them faster than ANALYZE runs); given the literal id it would scan all of the
# account's rows for every staged row, or hash them all for every chunk. Constant SQL throughout.
_MATCH = (
    "SELECT t.id FROM ledger_transaction t WHERE t.account_id = (SELECT %s::bigint) "
    "AND t.fingerprint = s.fingerprint AND t.deleted_at IS NULL ORDER BY t.id LIMIT 1"
)
# COPY's text format: backslash, tab, newline and carriage return are escaped in data.
_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
KEPT = 4096  # tags lists and suggestions whose COPY text staging_line remembers (then afresh)
_tags_text: dict[tuple[str, ...], str] = {}
_suggested_text: dict[int, tuple[object, str]] = {}  # id(suggestions) → (them, their text)


def _escaped(text: str) -> str:
    """``text`` as COPY reads it back; most texts hold nothing to escape (four scans are
    several times cheaper than a translation)."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.translate(_ESCAPE)
    return text


def _id(value: int | None) -> str:
    return "\\N" if value is None else str(int(value))


def _tags(names: list[str] | None) -> str:
    key = tuple(names) if names else ()
    found = _tags_text.get(key)
    if found is None:
        if len(_tags_text) >= KEPT:
            _tags_text.clear()
        found = _tags_text[key] = _escaped(json.dumps(list(key)))
    return found


def _suggested(found: list[Any]) -> str:
    """The suggested category and record columns; an import's rows share their suggestion
    lists (``AutoApply`` asks once per reading), each one's text is made once."""
    if not found:
        return "\\N\t\\N"
    kept = _suggested_text.get(id(found))
    if kept is not None and kept[0] is found:
        return kept[1]
    text = f"{found[0].category_id}\t" + _escaped(json.dumps(suggested_record(found)))
    if len(_suggested_text) >= KEPT:
        _suggested_text.clear()
    _suggested_text[id(found)] = (found, text)  # kept alive with its id: never another's
    return text


def staging_line(row: Row, read: int, fp: str, occurrence: int, decision: Decision) -> str:
    """One COPY text line for ``row`` (``amount`` kept as text: ``str(Decimal)``, exactly)."""
    original = "\\N" if row.original_amount is None else str(row.original_amount)
    metadata = _escaped(json.dumps(row.metadata)) if row.metadata else "{}"
    values = decision.values
    extra = _escaped(json.dumps(decision.extra, default=str)) if decision.extra else "{}"
    return (
        f"{row.line}\t{read}\t{fp}\t{occurrence}\t{row.occurred_on.isoformat()}\t{row.amount}\t"
        f"{_escaped(row.description)}\t{_escaped(row.counterparty)}\t"
        f"{_escaped(row.reference)}\t{original}\t{row.original_currency}\t"
        f"{row.bank_state}\t{_escaped(row.bank_id)}\t{_escaped(row.notes)}\t"
        f"{metadata}\t{_escaped(decision.payee_key)}\t"
        f"{_escaped(decision.payee_name)}\t{_id(decision.payee_id)}\t"
        f"{_id(values.get('category'))}\t{_tags(values.get('tags'))}\t"
        f"{_suggested(decision.suggested)}\t{extra}\n"
    )


def _row(values: Any) -> Row:
    line, occurred_on, amount, description, counterparty, reference, original, \
        original_currency, bank_state, bank_id, notes, metadata = values  # fmt: skip
    return Row(
        line, occurred_on, Decimal(amount), description, counterparty, reference,
        original_amount=None if original is None else Decimal(original),
        original_currency=original_currency, bank_state=bank_state, bank_id=bank_id,
        notes=notes, metadata=json.loads(metadata) or None,
    )  # fmt: skip


class Staging:
    """The session's staging table: ``create()``, ``copy()`` lines, ``index()``, then chunks."""

    def create(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS pg_temp.kore_import_staging")
            cursor.execute("CREATE TEMP TABLE kore_import_staging (" + _COLUMNS + ")")
            # Written after ANALYZE: without statistics the planner does not take it for NULL in
            # every row (and the written rows for none, planning their joins for one row).
            cursor.execute("ALTER TABLE pg_temp.kore_import_staging ALTER tx SET STATISTICS 0")

    def copy(self, lines: list[str]) -> None:
        if not lines:
            return
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
            with raw.copy(f"COPY pg_temp.kore_import_staging ({_COPY_COLUMNS}) FROM STDIN") as copy:
                copy.write("".join(lines).encode())

    def index(self) -> None:
        """Chunks are line ranges: index them once the rows are in (cheaper than row by row)."""
        with connection.cursor() as cursor:
            cursor.execute("CREATE INDEX ON pg_temp.kore_import_staging (line)")
            cursor.execute("ANALYZE pg_temp.kore_import_staging")

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS pg_temp.kore_import_staging")

    def statistics_ensure(self) -> None:
        """ANALYZE the ledger's account and fingerprint columns if they have no statistics yet
        (a new installation): without them the planner may probe through another index and
        filter on the fingerprint, scanning the whole account for every staged row."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT EXISTS (SELECT FROM pg_stats WHERE schemaname = current_schema() "
                "AND tablename = 'ledger_transaction' AND attname = 'account_id')"
            )
            if cursor.fetchone()[0]:
                return
            try:
                with db_transaction.atomic():
                    cursor.execute("ANALYZE ledger_transaction (account_id, fingerprint)")
            except DatabaseError:  # not the table's owner: leave it to autovacuum
                logger.warning("could not analyze ledger_transaction")

    def counts(self, account_id: int, after: int, through: int) -> tuple[int, int]:
        """Rows in the range, and how many of them a live transaction of the account holds."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), count(*) FILTER (WHERE EXISTS "  # noqa: S608 - constant SQL
                f"(SELECT FROM ({_MATCH}) m)) FROM pg_temp.kore_import_staging s "
                "WHERE s.line > %s AND s.line <= %s AND s.links IS NULL",
                [account_id, after, through],
            )
            size, held = cursor.fetchone()
            return int(size), int(held)

    def matches(
        self, account_id: int, after: int, through: int, limit: int
    ) -> Iterator[tuple[Row, str, int, int]]:
        """The first ``limit`` rows of the range that a live transaction already holds, in line
        order: (row, fingerprint, occurrence, that transaction's id)."""
        if limit <= 0:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {_ROW_COLUMNS}, s.fingerprint, s.occurrence, m.id "  # noqa: S608
                f"FROM pg_temp.kore_import_staging s CROSS JOIN LATERAL ({_MATCH}) m "
                "WHERE s.line > %s AND s.line <= %s AND s.links IS NULL ORDER BY s.line LIMIT %s",
                [account_id, after, through, limit],
            )
            found: list[Any] = cursor.fetchall()
        for *values, fp, nth, tx in found:
            yield _row(values), fp, nth, tx

    def fresh(self, account_id: int, after: int, through: int) -> list[tuple[Row, str]]:
        """The range's rows no live transaction holds yet, with their fingerprints: the rows
        that may replace a bank-pending transaction or match one entered by hand."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {_ROW_COLUMNS}, s.fingerprint "  # noqa: S608 - constant SQL
                "FROM pg_temp.kore_import_staging s WHERE s.line > %s AND s.line <= %s "
                f"AND s.links IS NULL AND NOT EXISTS (SELECT FROM ({_MATCH}) m) ORDER BY s.line",
                [after, through, account_id],
            )
            found: list[Any] = cursor.fetchall()
        return [(_row(values), fp) for *values, fp in found]

    def link(self, links: dict[int, int]) -> None:
        """Book these lines onto existing transactions (line → transaction id), not anew."""
        if not links:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE pg_temp.kore_import_staging s SET links = v.tx "
                "FROM unnest(%s::int[], %s::bigint[]) AS v(line, tx) WHERE s.line = v.line",
                [list(links), list(links.values())],
            )

    def insert(
        self,
        *,
        after: int,
        through: int,
        account_id: int,
        values: dict[str, Any],
        history_user_id: int | None,
        now: datetime,
    ) -> int:
        """Write the range's rows that no live transaction of the account holds; how many.

        A row auto-apply chose a category for is written with it, once, as version 2: its audit
        trail is the import's ``'+'`` row (no category, version 1) and the suggestion's ``'~'``
        row (change reason ``suggestion``), what writing it and then updating it recorded. The
        same statement keeps each new transaction's id in its row's ``tx``."""
        source = (
            "SELECT s.occurred_on, s.amount::numeric AS amount, s.description, s.counterparty, "  # noqa: S608
            "s.reference, s.fingerprint, s.line AS import_line, "
            "s.original_amount::numeric AS original_amount, s.original_currency, s.bank_state, "
            "s.bank_id, s.notes, s.metadata::jsonb AS metadata, "
            # The bank booked it: cleared (a statement counts it); bank-pending: pending.
            "CASE WHEN s.bank_state = 'pending' THEN 'pending' ELSE 'cleared' END AS status, "
            # Tagged rows say so at once (the tags follow in this transaction, tags_link): the
            # flag's trigger then has no row to update.
            "s.payee_id, COALESCE(s.category_id, s.suggested_category) AS category_id, "
            "s.tags <> '[]' AS has_tags, "
            "CASE WHEN s.suggested_category IS NULL THEN 1 ELSE 2 END AS version "
            "FROM pg_temp.kore_import_staging s "
            "WHERE s.line > %s AND s.line <= %s AND s.links IS NULL "
            f"AND NOT EXISTS (SELECT FROM ({_MATCH}) m) ORDER BY s.line"
        )
        return transactions_insert_select(
            source=source,
            params=[after, through, account_id],
            columns=("occurred_on", "amount", "description", "counterparty", "reference",
                     "fingerprint", "import_line", "original_amount", "original_currency",
                     "bank_state", "bank_id", "notes", "metadata", "status", "payee_id",
                     "category_id", "has_tags", "version"),
            values=values,
            history_user_id=history_user_id,
            now=now,
            amended=AmendedOnWrite(
                where="new.version = 2", first={"category_id": None, "version": 1},
                change_reason=SUGGESTION_REASON,
            ),
            also=("UPDATE pg_temp.kore_import_staging s SET tx = new.id FROM new "
                  "WHERE s.line = new.import_line AND s.line > %s AND s.line <= %s",
                  [after, through]),
        )  # fmt: skip

    def applied_record(self, after: int, through: int, job: ImportJob, now: datetime) -> None:
        """The ``AppliedSuggestion`` rows of the range's rows this job wrote with a suggested
        category (what ``kore.suggestions.services.applied_record`` writes)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO suggestions_appliedsuggestion (organization_id, transaction_id, "
                "category_id, confidence, suggested, how, import_job_id, applied_by_id, "
                "applied_at) "
                "SELECT %s, s.tx, s.suggested_category, "
                "(s.suggested::jsonb -> 0 ->> 'confidence')::numeric, s.suggested::jsonb, %s, "
                "%s, %s, %s FROM pg_temp.kore_import_staging s "
                "WHERE s.line > %s AND s.line <= %s AND s.suggested_category IS NOT NULL "
                "AND s.tx IS NOT NULL ORDER BY s.line",
                [job.organization_id, AppliedSuggestion.How.AUTO.value, job.pk,
                 job.created_by_id, now, after, through],
            )  # fmt: skip

    def payees_create(
        self, after: int, through: int, organization: Organization, user: Any
    ) -> None:
        """Create the new payees the range's rows name and give the rows their ids."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT ON (payee_key) payee_key, payee_name "
                "FROM pg_temp.kore_import_staging WHERE line > %s AND line <= %s "
                "AND payee_id IS NULL AND payee_key <> '' ORDER BY payee_key, line",
                [after, through],
            )
            names = dict(cursor.fetchall())
        if not names:
            return
        ids = payees_ensure(organization=organization, names=names, user=user)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE pg_temp.kore_import_staging s SET payee_id = v.id "
                "FROM unnest(%s::text[], %s::bigint[]) AS v(key, id) "
                "WHERE s.payee_key = v.key AND s.payee_id IS NULL AND s.line > %s AND s.line <= %s",
                [list(ids), list(ids.values()), after, through],
            )

    def tags_link(self, after: int, through: int, organization_id: int) -> None:
        """Tag the range's new transactions with the tags rules gave their rows (the tags exist:
        ``tags_ensure`` made them before the import wrote anything). A row's names are distinct
        (``_categorised``) and its transaction new: no link to skip."""
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_transaction_tags (transaction_id, tag_id) "
                "SELECT s.tx, g.id FROM pg_temp.kore_import_staging s "
                "CROSS JOIN LATERAL jsonb_array_elements_text(s.tags::jsonb) AS n(name) "
                "JOIN ledger_tag g ON g.organization_id = %s AND g.name = n.name "
                "WHERE s.line > %s AND s.line <= %s AND s.tags <> '[]' AND s.tx IS NOT NULL",
                [organization_id, after, through],
            )

    def extras(self, after: int, through: int) -> list[tuple[int, Any]]:
        """The range's new transactions with something left to do, with it."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT s.tx, s.extra FROM pg_temp.kore_import_staging s "
                "WHERE s.line > %s AND s.line <= %s AND s.extra <> '{}' AND s.tx IS NOT NULL "
                "ORDER BY s.line",
                [after, through],
            )
            return [(tx_id, json.loads(extra)) for tx_id, extra in cursor.fetchall()]
