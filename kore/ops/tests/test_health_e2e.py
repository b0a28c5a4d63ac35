"""Readiness end to end: a real Gunicorn process whose database is down, hung or unmigrated.

These need their own process because the test process's database is the migrated test database.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

ROOT = Path(__file__).resolve().parents[3]
GUNICORN = Path(sys.executable).with_name("gunicorn")
START_TIMEOUT = 30.0
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fetch(url: str, timeout: float = 10.0) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - local URL
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    return status, json.loads(raw), time.monotonic() - started


class Server:
    def __init__(self, base: str, log: Path) -> None:
        self.base = base
        self.log = log

    def get(self, path: str) -> tuple[int, dict[str, Any], float]:
        return _fetch(self.base + path)


def _start(database_url: str, tmp_path: Path) -> Iterator[Server]:
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url,
        "DATABASE_CONNECT_TIMEOUT": "5",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(GUNICORN),
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "4",
                "--timeout",
                "30",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited ({process.returncode}): {log.read_text()[-3000:]}")
            try:
                if _fetch(base + "/api/v1/health/live/", timeout=2)[0] == 200:
                    break
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer in time: {log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield Server(base, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _closed_port() -> int:
    return _free_port()


@pytest.fixture
def database_down(tmp_path) -> Iterator[Server]:
    yield from _start(f"postgres://kore:kore@127.0.0.1:{_closed_port()}/kore", tmp_path)


@pytest.fixture
def database_hung(tmp_path) -> Iterator[Server]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:  # accept TCP, never speak PostgreSQL
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        port = server.getsockname()[1]
        yield from _start(f"postgres://kore:kore@127.0.0.1:{port}/kore", tmp_path)
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in accepted:
            conn.close()
        server.close()


@pytest.fixture
def empty_database(tmp_path) -> Iterator[Server]:
    """A freshly created, never-migrated database on the shared PostgreSQL (dropped afterwards)."""
    # The server's maintenance database: DATABASE_URL may name one that does not exist.
    admin_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL).rsplit("/", 1)[0] + "/postgres"
    name = f"kore_e2e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield from _start(admin_url.rsplit("/", 1)[0] + f"/{name}", tmp_path)
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_database_down_is_503(database_down):
    status, body, elapsed = database_down.get("/api/v1/health/")
    assert status == 503, body
    assert body["status"] == "error"
    assert body["checks"]["database"]["status"] == "error"
    assert body["checks"]["cache"]["status"] == "ok"
    assert elapsed < 2.5
    assert "127.0.0.1" not in json.dumps(body)
    assert "kore:kore" not in json.dumps(body)


def test_database_down_liveness_still_200(database_down):
    status, body, _ = database_down.get("/api/v1/health/live/")
    assert (status, body) == (200, {"status": "ok"})


def test_database_down_api_error_is_json_503(database_down):
    # A valid JWT makes the API reach the database; the failure leaves in Kore's shape, as a
    # temporary outage the client may retry.
    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken()
    token["user_id"] = 1
    request = urllib.request.Request(  # noqa: S310 - a local http:// URL
        database_down.base + "/api/v1/orgs/",
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "e2e-db-down-0001"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - local URL
    assert info.value.code == 503
    assert info.value.headers["Content-Type"].startswith("application/json")
    assert int(info.value.headers["Retry-After"]) > 0
    body = json.loads(info.value.read())
    assert body["error"]["code"] == "database_unavailable"
    assert body["error"]["request_id"] == "e2e-db-down-0001"
    assert info.value.headers["X-Request-ID"] == "e2e-db-down-0001"


def test_database_hung_answers_within_bound(database_hung):
    status, body, elapsed = database_hung.get("/api/v1/health/")
    assert status == 503, body
    assert body["checks"]["database"]["status"] in ("timeout", "error")
    assert elapsed < 2.5, elapsed


def test_migrations_pending_is_503(empty_database):
    status, body, elapsed = empty_database.get("/api/v1/health/")
    assert status == 503, body
    assert body["status"] == "error"
    assert body["checks"]["database"]["status"] == "error"
    assert body["checks"]["database"].get("detail") == "migrations_pending"
    assert elapsed < 2.5
