"""Kore's PostgreSQL backend (kore.core.postgresql): the health check skips its round trip on a
connection that heard nothing while idle, and still finds one the server ended."""

import time

import pytest
from django.db import connection, connections
from django.db.backends.postgresql import base as django_base

from kore.core.postgresql.base import DatabaseWrapper

pytestmark = pytest.mark.django_db


@pytest.fixture
def own():
    """A connection of its own, outside the test's transaction, that the test may break."""
    conn = connections.create_connection("default")
    conn.ensure_connection()
    yield conn
    conn.close()


def _pid(conn) -> int:
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_the_settings_use_kore_s_backend() -> None:
    assert isinstance(connections["default"], DatabaseWrapper)
    assert connection.vendor == "postgresql"


def test_a_quiet_connection_is_usable_without_a_round_trip(own, monkeypatch) -> None:
    def round_trip(self) -> bool:
        raise AssertionError("SELECT 1 sent")

    monkeypatch.setattr(django_base.DatabaseWrapper, "is_usable", round_trip)
    assert own.is_usable()


def test_a_connection_the_server_ended_is_not_usable(own) -> None:
    pid = _pid(own)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while own.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)  # the farewell may take a moment to arrive
    assert not own.is_usable()


def test_the_health_check_replaces_a_connection_the_server_ended(own) -> None:
    pid = _pid(own)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # gone from the server: its farewell has been sent
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone()[0] == 0:
                break
        time.sleep(0.05)
    own.health_check_enabled = True
    own.health_check_done = False  # a new request
    with own.cursor() as cursor:  # checks first, reconnects, then runs the query
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_a_closed_connection_is_not_usable(own) -> None:
    own.connection.close()
    assert not own.is_usable()
