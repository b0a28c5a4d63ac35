"""X-Request-ID: echoed when well-formed, replaced when not, on every response and log line."""

import logging
import re
import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from kore.core.request_id import get_request_id, request_id_from_header
from kore.core.testing import assert_error, client_for
from kore.ops.logs import ContextFilter
from kore.orgs.tests.factories import UserFactory

GENERATED = re.compile(r"^[0-9a-f]{32}$")


@pytest.mark.parametrize(
    "value",
    [
        "0123456789abcdef0123456789abcdef",  # Nginx's $request_id
        str(uuid.uuid4()),
        "req-2024.01_abc",
        "A" * 128,
    ],
)
def test_well_formed_id_is_echoed(db, value):
    response = Client().get("/api/v1/health/live/", HTTP_X_REQUEST_ID=value)
    assert response.status_code == 200
    assert response["X-Request-ID"] == value


@pytest.mark.parametrize(
    "value",
    [
        "has spaces in it",
        "A" * 129,
        "<script>alert(1)</script>",
        "short",
        "",
        "-starts-with-dash",
        "abcdefgh\n",
        "abcdefgh\r\nSet-Cookie: x=1",
        "abcdefgh;rm",
        "ünïcødé-request-id",
        "abc\x00defghij",
    ],
)
def test_malformed_id_is_replaced_never_echoed(db, value):
    response = Client().get("/api/v1/health/live/", HTTP_X_REQUEST_ID=value)
    assert response.status_code == 200
    assert response["X-Request-ID"] != value
    assert GENERATED.match(response["X-Request-ID"])
    assert value.strip() == "" or value not in response.content.decode()


def test_malformed_id_is_not_echoed_in_error_body(db):
    response = Client().get("/nope/", HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    error = assert_error(response, 404, "not_found")
    assert "<script>" not in response.content.decode()
    assert GENERATED.match(error["request_id"])


def test_unit_request_id_from_header():
    assert request_id_from_header("abcdefgh") == "abcdefgh"
    assert request_id_from_header("abcdefgh\n") != "abcdefgh\n"
    assert GENERATED.match(request_id_from_header(None))
    assert request_id_from_header(None) != request_id_from_header(None)


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("get", "/api/v1/health/live/", 200),
        ("get", "/api/v1/me/", 401),
        ("get", "/nope/", 404),
        ("delete", "/api/v1/auth/token/", 405),
        ("get", "/api/v1/schema/", 200),
        ("get", "/admin/login/", 302),  # to the web sign-in
    ],
)
def test_every_response_carries_a_request_id(db, method, url, status):
    response = getattr(APIClient(), method)(url)
    assert response.status_code == status
    assert GENERATED.match(response["X-Request-ID"])


def test_each_request_gets_its_own_id(db):
    ids = {Client().get("/api/v1/health/live/")["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


def test_error_body_request_id_equals_header(db):
    response = APIClient().post("/api/v1/auth/token/", b"{", content_type="application/json")
    error = assert_error(response, 400, "parse_error")
    assert error["request_id"] == response["X-Request-ID"]
    assert error["request_id"] != "-"


def test_error_body_uses_the_callers_id(db):
    response = APIClient().get("/api/v1/me/", HTTP_X_REQUEST_ID="trace-0123456789")
    error = assert_error(response, 401, "not_authenticated")
    assert error["request_id"] == "trace-0123456789"


def test_authenticated_error_keeps_the_id(db):
    response = client_for(UserFactory()).patch(
        "/api/v1/me/", {"bogus": 1}, format="json", HTTP_X_REQUEST_ID="trace-abcdef012345"
    )
    error = assert_error(response, 400, "unknown_field")
    assert error["request_id"] == "trace-abcdef012345"


@pytest.fixture
def id_caplog(caplog):
    """caplog whose handler stamps records with the request id, as the console handler does."""
    request_filter = ContextFilter()
    caplog.handler.addFilter(request_filter)
    caplog.set_level(logging.INFO)
    yield caplog
    caplog.handler.removeFilter(request_filter)


def test_log_records_during_a_request_carry_its_id(db, id_caplog):
    # Django logs 4xx responses ("Bad Request: ...") after the middleware chain returns.
    response = APIClient().post(
        "/api/v1/auth/token/",
        b"{",
        content_type="application/json",
        HTTP_X_REQUEST_ID="trace-log-0000001",
    )
    assert response.status_code == 400
    records = [r for r in id_caplog.records if r.name == "django.request"]
    assert records, [r.getMessage() for r in id_caplog.records]
    assert {r.request_id for r in records} == {"trace-log-0000001"}


def test_404_log_line_carries_the_generated_id(db, id_caplog):
    response = Client().get("/nope/")
    records = [r for r in id_caplog.records if r.name == "django.request"]
    assert records
    assert {r.request_id for r in records} == {response["X-Request-ID"]}


def test_id_is_forgotten_after_the_request(db, id_caplog):
    Client().get("/api/v1/health/live/", HTTP_X_REQUEST_ID="trace-gone-000001")
    assert get_request_id() == "-"
    logging.getLogger("kore.test").info("outside a request")
    outside = [r for r in id_caplog.records if r.name == "kore.test"]
    assert [r.request_id for r in outside] == ["-"]


def test_console_formatter_includes_the_id():
    import logging

    from django.conf import settings

    from kore.core.request_id import current_request_id
    from kore.ops.logs import ContextFilter, TextFormatter

    assert settings.LOGGING["formatters"]["text"]["()"] == "kore.ops.logs.TextFormatter"
    assert "context" in settings.LOGGING["handlers"]["console"]["filters"]
    token = current_request_id.set("abc123def456")
    try:
        record = logging.LogRecord("kore.x", logging.INFO, __file__, 1, "hello", (), None)
        ContextFilter().filter(record)
        assert "INFO kore.x [abc123def456] hello" in TextFormatter().format(record)
    finally:
        current_request_id.reset(token)
