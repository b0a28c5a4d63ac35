"""Prepared statements for the few queries every API request runs.

Django's psycopg cursors bind parameters on the client (``ClientCursor``), so PostgreSQL parses
and plans each statement again on every request: ~0.4 ms for the transaction page alone.
``prepared_cursor`` hands out a Django cursor (execute wrappers and error translation as
usual) over a server-binding psycopg cursor that prepares each statement on its
first run and reuses the plan on that connection afterwards. Every other query keeps Django's
client-side binding, whose differences (documented by Django) the rest of Kore was written for.

It is on when ``DATABASE_PREPARED_STATEMENTS`` (default True) gave the connection a
``prepare_threshold`` (config.settings.base). Behind a PgBouncer in transaction mode that is
right only from PgBouncer 1.21 with ``max_prepared_statements`` > 0 (the default, 200, since
1.22): an older PgBouncer sends the next statement to another server connection, which has never
heard of the prepared name, so it must run with the setting off. SQLite: ``connection.cursor()``.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connection
from django.db.backends.utils import CursorWrapper


class PreparingCursor(psycopg.Cursor[Any]):
    """Server-side binding, every statement prepared on its first run."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> "PreparingCursor":
        kwargs.setdefault("prepare", True)
        return super().execute(query, params, **kwargs)


def prepared_statements_enabled() -> bool:
    """Whether ``prepared_cursor`` prepares: PostgreSQL with a ``prepare_threshold``."""
    return (
        connection.vendor == "postgresql"
        and connection.settings_dict["OPTIONS"].get("prepare_threshold") is not None
    )


@contextmanager
def prepared_cursor() -> Iterator[CursorWrapper]:
    """``connection.cursor()`` whose statements are prepared on first use (when enabled)."""
    if not prepared_statements_enabled() or connection.queries_logged:
        # Queries being logged (DEBUG, CaptureQueriesContext): Django's own cursor, whose log
        # shows each statement with its values bound in (a server-bound one shows $1, $2…).
        with connection.cursor() as cursor:
            yield cursor
        return
    # Django's connection.cursor(), step by step, with this cursor class: the health check,
    # connecting, create_cursor (its time zone handling) and the same wrapper.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw_connection = connection.connection
        factory = raw_connection.cursor_factory
        raw_connection.cursor_factory = PreparingCursor  # this thread's own connection
        try:
            raw = connection.create_cursor()
        finally:
            raw_connection.cursor_factory = factory
    connection.validate_thread_sharing()
    wrapper = connection.make_cursor(raw)
    with wrapper:
        yield wrapper
