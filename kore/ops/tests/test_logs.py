"""Log lines: JSON with request context, and no secret in any line while real requests run.

Every logger is opened to DEBUG and SQL is logged (force_debug_cursor), so the token blacklist's
INSERT of the refresh token, the login body's password and headers would all have a chance to
reach a line; the captured output is what an operator's log shipper would receive.
"""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.db import connection
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from kore.ops.logs import (
    _REDACTED_FIELDS,
    REDACTED,
    SECRET_HINTS,
    ContextFilter,
    JsonLineFormatter,
    TextFormatter,
    redact,
)
from kore.orgs.tests.factories import PASSWORD

NEW_PASSWORD = "a-fresh-Passphrase-491"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Every record from every logger, formatted as production formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    old_level = root.level
    quiet = {name: logging.getLogger(name).level for name in ("django.db.backends",)}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in quiet:
        logging.getLogger(name).setLevel(logging.DEBUG)
    connection.force_debug_cursor = True
    try:
        yield stream
    finally:
        connection.force_debug_cursor = False
        root.removeHandler(handler)
        root.setLevel(old_level)
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)


def _records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_login_token_use_and_password_reset_leave_no_secret_in_any_line(world, json_lines):
    client = APIClient()
    owner = world.owner
    login = client.post(
        "/api/v1/auth/token/", {"email": owner.email, "password": PASSWORD}, format="json"
    )
    assert login.status_code == 200, login.content
    access, refresh = login.json()["access"], login.json()["refresh"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    created = client.post(
        f"/api/v1/orgs/{world.org.slug}/api-tokens/", {"name": "ci", "role": "viewer"}
    )
    assert created.status_code == 201, created.content
    api_token = created.json()["token"]
    assert api_token.startswith("kore_")
    with_token = APIClient()
    with_token.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token}")
    assert with_token.get(f"/api/v1/orgs/{world.org.slug}/accounts/").status_code == 200
    refreshed = client.post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert refreshed.status_code == 200, refreshed.content
    wrong = APIClient().post(
        "/api/v1/auth/token/", {"email": owner.email, "password": "Wrong-" + PASSWORD}
    )
    assert wrong.status_code == 401
    anonymous = APIClient()
    assert anonymous.post("/api/v1/auth/password-reset/", {"email": owner.email}).status_code == 202
    owner.refresh_from_db()  # the token depends on last_login, just changed by the login
    uid = urlsafe_base64_encode(force_bytes(owner.pk))
    reset_token = default_token_generator.make_token(owner)
    confirm = anonymous.post(
        "/api/v1/auth/password-reset/confirm/",
        {"uid": uid, "token": reset_token, "password": NEW_PASSWORD},
        format="json",
    )
    assert confirm.status_code == 204, confirm.content

    output = json_lines.getvalue()
    records = _records(json_lines)
    requests = [r for r in records if r["logger"] == "kore.request"]
    assert len(requests) >= 7, output[-2000:]
    # The SQL of the refresh token's blacklist row was logged, with the token redacted.
    assert any("token_blacklist" in str(r["message"]) for r in records)
    assert REDACTED in output
    for secret in (
        PASSWORD,
        NEW_PASSWORD,
        "Wrong-" + PASSWORD,
        access,
        refresh,
        refreshed.json()["access"],
        api_token,
        api_token.split("_", 2)[2],  # the secret part (token_urlsafe may contain "_")
        reset_token,
    ):
        assert secret not in output, f"a secret reached the log: {secret[:12]}…"


def test_request_line_is_one_json_object_with_context(world, json_lines):
    client = APIClient()
    login = client.post(
        "/api/v1/auth/token/", {"email": world.member.email, "password": PASSWORD}, format="json"
    )
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    response = client.get(
        f"/api/v1/orgs/{world.org.slug}/accounts/", HTTP_X_REQUEST_ID="req-abcdef123456"
    )
    assert response.status_code == 200
    raw, line = next(
        (text, r)
        for text, r in zip(
            (t for t in json_lines.getvalue().splitlines() if t.strip()),
            _records(json_lines),
            strict=True,
        )
        if r["logger"] == "kore.request" and r.get("request_id") == "req-abcdef123456"
    )
    # One object on one line in json.dumps's own spelling: log shippers and greps see the same text.
    assert raw == json.dumps(line)
    assert list(line)[:4] == ["time", "level", "logger", "message"]
    assert line["level"] == "INFO"
    assert line["status"] == 200
    assert line["method"] == "GET"
    assert line["view"] == "ledger:account-list"
    assert line["user_id"] == world.member.pk
    assert line["org"] == world.org.slug
    assert isinstance(line["duration_ms"], float)
    assert isinstance(line["db_queries"], int)
    assert line["db_queries"] > 0
    assert str(line["time"]).endswith("+00:00")


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("{'HTTP_AUTHORIZATION': 'Token 9f8e7d6c5b4a'}", "9f8e7d6c5b4a"),
        ("authorization=Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("used kore_0a1b2c3d_Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1 on /x", "Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJl", "eyJ1c2VyX2lkIjoxfQ"),
        ('{"password": "hunter2-hunter2"}', "hunter2-hunter2"),
        ("email=a%40b.c&password=s3cr3t-pw&next=/", "s3cr3t-pw"),
        ("new_password1='Tr0ub4dor&3'", "Tr0ub4dor"),
        ("api_key=AKIAEXAMPLEKEY123", "AKIAEXAMPLEKEY123"),
        ('{"X-API-Key": "k-123456789"}', "k-123456789"),
        ("SENTRY_DSN=https://publickey@o1.ingest.sentry.io/42", "publickey"),
        ("redis://:r3dis-pw@cache:6379/0", "r3dis-pw"),
        ("postgres://kore:pg-Secret-9@db:5432/kore", "pg-Secret-9"),
        ("reset link ?uid=MQ&token=c1k9-0f3e2d1c0b9a", "c1k9-0f3e2d1c0b9a"),
        ("secret_key: 'abcdefghijkl'", "abcdefghijkl"),
    ],
)
def test_redact_removes_each_kind_of_secret(text, secret):
    assert secret not in redact(text)
    assert REDACTED in redact(text)


def test_every_secret_field_name_is_a_hint_that_the_text_needs_redacting():
    # redact() skips a text holding none of SECRET_HINTS: each field name it redacts holds one.
    for name in _REDACTED_FIELDS.split("|"):
        spelled = name.replace("\\d?", "").replace("[_-]?", "_").lower()
        assert any(hint in spelled for hint in SECRET_HINTS), name


def test_redact_keeps_ordinary_text():
    text = "GET /api/v1/orgs/acme/transactions/?limit=20 200 12.5 ms user 42"
    assert redact(text) == text


def test_text_format_is_for_people_and_redacted():
    record = logging.LogRecord(
        "kore.test", logging.WARNING, __file__, 1, "login %s", ("password=abc123xyz",), None
    )
    line = TextFormatter().format(record)
    assert " WARNING kore.test [-] login password=[REDACTED]" in line
    assert not line.startswith("{")
