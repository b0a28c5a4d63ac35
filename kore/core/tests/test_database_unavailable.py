"""The database going away mid-request (a restart, a failover) is not a bug: the client gets a 503
with a code and Retry-After, never a 500, and retries (a write with its Idempotency-Key lands once).
The containers' fault tests restart PostgreSQL under a write loop for real."""

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.test import RequestFactory

from kore.core.exceptions import exception_handler
from kore.core.middleware import DatabaseUnavailableMiddleware


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


def test_a_commit_cut_off_outside_drf_is_a_503_too() -> None:
    """The request's transaction commits after DRF's handler: the middleware answers for it."""
    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    request = RequestFactory().post("/api/v1/orgs/x/transactions/")
    response = middleware.process_exception(request, OperationalError("the connection is lost"))
    assert response is not None
    assert response.status_code == 503
    assert b'"database_unavailable"' in response.content
    assert b"connection is lost" not in response.content
    assert response["Retry-After"] == "5"
    assert middleware.process_exception(request, ValueError("a bug")) is None
