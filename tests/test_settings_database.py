"""DATABASE_URL's PostgreSQL settings: the hot queries' prepared statements follow
DATABASE_PREPARED_STATEMENTS (kore.core.prepared), and a bad value stops start-up."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings.base import database_from_url

URL = "postgres://kore@db:5432/kore"


def test_prepared_statements_are_on_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_PREPARED_STATEMENTS", raising=False)
    assert database_from_url(URL)["OPTIONS"]["prepare_threshold"] is not None


def test_prepared_statements_off_leave_django_s_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """No threshold: Django passes None, so psycopg prepares nothing (an old PgBouncer)."""
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "False")
    assert "prepare_threshold" not in database_from_url(URL)["OPTIONS"]


def test_a_bad_prepared_statements_value_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_PREPARED_STATEMENTS"):
        database_from_url(URL)


def test_sqlite_has_no_prepared_statements_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "True")
    assert "prepare_threshold" not in database_from_url("sqlite:////tmp/kore.sqlite3").get(
        "OPTIONS", {}
    )
