"""Set-based transaction inserts for bulk writers (imports): one ``INSERT … SELECT`` that writes
the transactions and their audit history together, PostgreSQL only.

``bulk_create_with_history`` builds two ORM objects per row and sends every value as a parameter;
this sends a handful of parameters per statement and lets the database copy the rows from a
query (typically a TEMP staging table filled by ``COPY``). The rows written are the ones the ORM
path would write: every concrete field of ``Transaction`` is filled from the query, from
``values``, or from the field's own default (``auto_now``/``auto_now_add`` fields get ``now``),
and each new row gets a ``'+'`` history row stamped like ``bulk_create_with_history`` stamps them
(history user, no change reason, request id and API token from ``kore.core.audit``). Columns are
derived from the models, so a field added later is written with its default, not forgotten.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, models
from django.db import transaction as db_transaction

from kore.core.audit import audit_attrs
from kore.orgs.models import Organization

from ..models import Transaction
from .periods import closed_through, period_open_check


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def _constant(field: "models.Field[Any, Any]", value: Any) -> Any:
    return field.get_db_prep_save(value, connection)


def _period_open_check(source: str, params: Sequence[Any], values: dict[str, Any]) -> None:
    """The rows about to be written must not fall in the account's closed period (the rows are
    only scanned for their earliest date when the account has a closed period at all)."""
    organization = Organization(pk=values["organization_id"])
    account_id = values["account_id"]
    if account_id not in closed_through(organization=organization, account_ids=[account_id]):
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(src.occurred_on) FROM ({source}) AS src", params)  # noqa: S608
        earliest = cursor.fetchone()[0]
    if earliest is not None:
        period_open_check(organization=organization, entries=[(account_id, earliest)])


def _history_select(
    stamp: dict[str, Any], source: str, cases: Sequence[tuple[str, dict[str, Any]]] = ()
) -> tuple[list[str], list[str], list[Any]]:
    """The history table's columns, and what fills each from a row of ``source`` (an alias of
    rows shaped like the transaction table): tracked fields from the row, the rest from
    ``stamp`` (plus the request id and API token of ``kore.core.audit``) or their default.
    ``cases``: (SQL condition, attname → value): where the condition holds, those fields take
    those values instead."""
    history = Transaction.history.model
    columns_of = {f.attname: f.column for f in Transaction._meta.concrete_fields}
    tracked = {f.attname for f in history.tracked_fields}
    stamp = {**stamp, **audit_attrs()}
    cols: list[str] = []
    exprs: list[str] = []
    args: list[Any] = []
    for field in history._meta.concrete_fields:
        if field.primary_key:
            continue  # history_id: an identity column
        cols.append(_quoted(field.column))
        when = [(condition, values[field.attname]) for condition, values in cases
                if field.attname in values]  # fmt: skip
        branches = "".join(f"WHEN {condition} THEN %s " for condition, _ in when)
        args.extend(_constant(field, value) for _, value in when)
        if field.attname in tracked:
            expr = f"{source}.{_quoted(columns_of[field.attname])}"
        else:
            expr = "%s"
            value = stamp[field.attname] if field.attname in stamp else field.get_default()
            args.append(_constant(field, value))
        exprs.append(f"CASE {branches}ELSE {expr} END" if when else expr)
    return cols, exprs, args


@dataclass(frozen=True)
class AmendedOnWrite:
    """Rows written with one change already made on top of what their writer gave them: each
    such row (``where``, an SQL condition on the new row ``new``) gets two history rows, a
    ``'+'`` row as first given (``first``: attname → value, e.g. no category and version 1)
    then a ``'~'`` row as written, with ``change_reason``; as if it had been inserted, then
    updated, at the same instant. The row itself is written once."""

    where: str
    first: dict[str, Any]
    change_reason: str


def transactions_history_record(
    *, ids: Sequence[int], change_reason: str, history_user_id: int | None, now: datetime
) -> int:
    """A ``'~'`` audit row for each of these transactions as it now is, in one statement
    (PostgreSQL): what ``bulk_history_create`` writes for a batch changed by an UPDATE."""
    assert connection.vendor == "postgresql", "a PostgreSQL statement"
    stamp: dict[str, Any] = {"history_date": now, "history_type": "~",
                             "history_change_reason": change_reason,
                             "history_user_id": history_user_id}  # fmt: skip
    cols, exprs, args = _history_select(stamp, "t")
    sql = (
        f"INSERT INTO {_quoted(Transaction.history.model._meta.db_table)} "  # noqa: S608
        f"({', '.join(cols)}) SELECT {', '.join(exprs)} "
        f"FROM {_quoted(Transaction._meta.db_table)} AS t WHERE t.id = ANY(%s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*args, list(ids)])
        return int(cursor.rowcount)


def transactions_insert_select(
    *,
    source: str,
    params: Sequence[Any],
    columns: Sequence[str],
    values: dict[str, Any],
    history_user_id: int | None,
    now: datetime,
    amended: AmendedOnWrite | None = None,
    also: tuple[str, Sequence[Any]] | None = None,
) -> int:
    """Insert one transaction per row of ``source`` and its history row; returns how many.

    ``source`` is a SELECT (with ``params``) whose output ``columns`` are ``Transaction``
    attnames (``occurred_on``, ``amount``, ``fingerprint``…); ``values`` gives one value for
    every row to other attnames (``organization_id``, ``change_seq``…). Must run inside the
    caller's transaction, after ``ledger_version_bump`` when it sets ``change_seq``. Rows of one
    account (``account_id`` in ``values``) dated in its closed period are refused (409
    ``period_reconciled``, see ``periods``) before anything is written. ``amended``: rows that
    carry a change over what their writer decided (an applied suggestion) get a second history
    row for it (``AmendedOnWrite``). ``also``: (SQL, params) of one more data-modifying
    statement run by the same statement over the new rows, ``new`` (as ``RETURNING *`` gives
    them): an UPDATE that keeps each new row's id beside the source row it came from, say, so
    that what the caller writes next finds it without looking it up again.
    """
    assert connection.vendor == "postgresql", "a PostgreSQL statement"
    assert db_transaction.get_connection().in_atomic_block, "call inside transaction.atomic()"
    unknown = set(columns) | set(values)
    insert_cols: list[str] = []
    exprs: list[str] = []
    args: list[Any] = []
    for field in Transaction._meta.concrete_fields:
        if field.primary_key:
            continue
        attname = field.attname
        unknown.discard(attname)
        insert_cols.append(_quoted(field.column))
        if attname in columns:
            exprs.append(f"src.{_quoted(attname)}")
            continue
        if attname in values:
            value = values[attname]
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now
        else:
            value = field.get_default()
        exprs.append("%s")
        args.append(_constant(field, value))
    if unknown:
        raise ValueError(f"not Transaction fields: {sorted(unknown)}")
    if "account_id" in values and "organization_id" in values:
        _period_open_check(source, params, values)

    history = Transaction.history.model
    stamp: dict[str, Any] = {
        "history_date": now, "history_type": "+", "history_change_reason": None,
        "history_user_id": history_user_id,
    }  # fmt: skip
    history_from = "new"
    if amended is None:
        history_cols, history_exprs, history_args = _history_select(stamp, "new")
    else:
        # Each amended row twice (nth 0: as first given, '+'; nth 1: as written, '~'), in id
        # order so that the '+' row's history id comes first (the audit feed's order).
        amended_first = f"n.nth = 0 AND ({amended.where})"
        change = {"history_type": "~", "history_change_reason": amended.change_reason}
        history_cols, history_exprs, history_args = _history_select(
            stamp, "new", [(amended_first, amended.first), ("n.nth = 1", change)]
        )
        history_from = (
            f"new CROSS JOIN (VALUES (0), (1)) AS n(nth) WHERE n.nth = 0 OR ({amended.where}) "
            "ORDER BY new.id, n.nth"
        )

    # Identifiers come from the models, every value is a parameter.
    insert = (
        f"INSERT INTO {_quoted(Transaction._meta.db_table)} "  # noqa: S608
        f"({', '.join(insert_cols)}) SELECT {', '.join(exprs)} FROM ({source}) AS src "
        "RETURNING *"
    )
    record = (
        f"INSERT INTO {_quoted(history._meta.db_table)} ({', '.join(history_cols)}) "  # noqa: S608
        f"SELECT {', '.join(history_exprs)} FROM {history_from}"
    )
    also_sql, also_params = also if also is not None else ("", ())
    also_cte = f", also AS ({also_sql})" if also is not None else ""
    with connection.cursor() as cursor:
        if amended is None:
            sql = f"WITH new AS ({insert}){also_cte} {record}"
            cursor.execute(sql, [*args, *params, *also_params, *history_args])
            return int(cursor.rowcount)
        # More history rows than new ones: count the new rows.
        cursor.execute(
            f"WITH new AS ({insert}), recorded AS ({record}){also_cte} "  # noqa: S608
            "SELECT count(*) FROM new",
            [*args, *params, *history_args, *also_params],
        )
        return int(cursor.fetchone()[0])
