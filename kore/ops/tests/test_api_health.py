"""GET /api/v1/health/ (readiness) and /api/v1/health/live/ (liveness) against real services."""

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers
from django.utils.http import http_date
from rest_framework.test import APIClient

from config.settings.base import cache_from_url

HEALTH = "/api/v1/health/"
LIVE = "/api/v1/health/live/"
CHECKS = {"database", "cache", "broker", "storage"}


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def hanging_port() -> Iterator[int]:
    """A port that accepts TCP connections and then never answers: a hung dependency."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                accepted.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in accepted:
            conn.close()
        server.close()


def _get(path: str = HEALTH):
    return APIClient().get(path)


def test_healthy(db):
    response = _get()
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok", body
    assert set(body["checks"]) == CHECKS
    for name, check in body["checks"].items():
        assert check["status"] == "ok", (name, check)
        assert isinstance(check["latency_ms"], int | float)
        assert check["latency_ms"] >= 0
    assert body["version"] == django_settings.KORE_VERSION


def test_never_cached(db):
    response = _get()
    cache_control = response["Cache-Control"]
    assert "no-cache" in cache_control
    assert "no-store" in cache_control


@pytest.mark.parametrize("path", [HEALTH, LIVE])
def test_never_cached_headers_are_djangos(db, path):
    """Both probes carry exactly what Django's add_never_cache_headers writes, Expires now."""
    before = int(time.time())
    response = _get(path)
    after = int(time.time())
    expected = HttpResponse()
    add_never_cache_headers(expected)
    assert response["Cache-Control"] == expected["Cache-Control"]
    assert response["Expires"] in {http_date(t) for t in range(before, after + 1)}


def test_body_leaks_no_hosts_or_secrets(db, settings):
    text = _get().content.decode()
    db_settings = settings.DATABASES["default"]
    secrets = {
        "127.0.0.1",
        "localhost",
        "redis://",
        "postgres://",
        settings.SECRET_KEY,
        db_settings["NAME"],
        db_settings["USER"],
        str(db_settings["PORT"]),
        "6379",
    } - {""}
    for secret in secrets:
        assert secret not in text, secret


def test_no_auth_needed_and_bad_credentials_ignored(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    assert client.get(HEALTH).status_code == 200
    assert client.get(LIVE).status_code == 200


def test_not_throttled(db, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_CLASSES": [
            *settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"],
            "rest_framework.throttling.AnonRateThrottle",
        ],
    }
    for _ in range(40):
        assert _get(LIVE).status_code == 200
    for _ in range(15):
        assert _get().status_code == 200


def test_live_makes_no_database_queries(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = _get(LIVE)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_live_needs_no_database():
    # No db fixture: pytest-django blocks every connection attempt, yet liveness answers.
    assert _get(LIVE).status_code == 200


def test_health_is_in_the_schema(db):
    paths = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert "/api/v1/health/" in paths
    assert "503" in paths["/api/v1/health/"]["get"]["responses"]


# --- Degraded dependencies ------------------------------------------------------------------------
def test_cache_down_is_degraded(db, settings):
    settings.CACHES = cache_from_url(f"redis://127.0.0.1:{_closed_port()}/0")
    started = time.monotonic()
    response = _get()
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded", body
    assert body["checks"]["cache"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"
    assert elapsed < 2.5


def test_plain_redis_cache_down_is_degraded(db, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
        }
    }
    body = _get().json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"]["status"] == "error"


def test_hung_cache_answers_within_bound(db, settings, hanging_port):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{hanging_port}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 30, "SOCKET_TIMEOUT": 30},
        }
    }
    started = time.monotonic()
    response = _get()
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, elapsed
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["cache"]["status"] in ("timeout", "error")


def test_hung_broker_answers_within_bound(db, settings, hanging_port):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{hanging_port}/0"
    started = time.monotonic()
    response = _get()
    assert time.monotonic() - started < 2.5
    assert response.status_code == 200
    assert response.json()["checks"]["broker"]["status"] in ("timeout", "error")


def test_broker_down_is_degraded(db, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/2"
    response = _get()
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["broker"]["status"] == "error"
    assert body["checks"]["cache"]["status"] == "ok"


def test_broker_unset_is_skipped(db, settings):
    settings.CELERY_BROKER_URL = ""
    response = _get()
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "skipped"


def test_locmem_cache_is_skipped(db, settings):
    settings.CACHES = cache_from_url("")
    body = _get().json()
    assert body["checks"]["cache"]["status"] == "skipped"
    assert body["status"] == "ok"


def test_storage_unwritable_is_error(db, settings, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    settings.MEDIA_ROOT = str(blocker / "media")
    response = _get()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["storage"]["status"] == "error"
    assert str(tmp_path) not in json.dumps(body)


# --- The checks themselves ------------------------------------------------------------------------
def test_database_check_bounds_its_query(transactional_db):
    from django.db import connection

    from kore.ops.health import CHECK_TIMEOUT, check_database

    seen: list[str] = []

    def spy(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql == "SELECT 1":
            cursor = context["cursor"]
            cursor.execute("SHOW statement_timeout")
            seen.append(cursor.fetchone()[0])
        return result

    with connection.execute_wrapper(spy):
        assert check_database() == ""
    assert seen == [f"{int(CHECK_TIMEOUT * 1000)}ms"] or seen == [f"{int(CHECK_TIMEOUT)}s"]
