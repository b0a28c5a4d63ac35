"""The database going away mid-request (a restart, a failover) is not a bug: the client gets a 503
with a code and Retry-After, never a 500, and retries (a write with its Idempotency-Key lands once).
The containers' fault tests restart PostgreSQL under a write loop for real."""

from django.db import InterfaceError, OperationalError

from kore.core.exceptions import exception_handler


def test_a_lost_database_connection_is_a_503_to_retry() -> None:
    for error in (OperationalError("server closed the connection unexpectedly"),
                  InterfaceError("connection already closed")):  # fmt: skip
        response = exception_handler(error, {})
        assert response is not None
        assert response.status_code == 503
        body = response.data["error"]
        assert body["code"] == "database_unavailable"
        assert "server closed" not in body["message"]  # no library text reaches the client
        assert "connection already" not in body["message"]
        assert response["Retry-After"] == "5"
