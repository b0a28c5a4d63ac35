"""The entrypoint's health checks that start no Python process (the 512 MB profile's): run with
bash against a real heartbeat file and a real HTTP server on a loopback port."""

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .helpers import ROOT

ENTRYPOINT = ROOT / "docker/production/django/entrypoint.sh"


def health(role: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ENTRYPOINT), role, *args],
        env={"PATH": os.environ["PATH"], "APP_DIR": str(ROOT), **env},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_worker_heartbeat_file_healthy_when_fresh_and_not_when_old(tmp_path: Path) -> None:
    beat = tmp_path / "heartbeat"
    assert health("health-worker-file", "60", KORE_WORKER_HEARTBEAT_FILE=str(beat)).returncode == 1
    beat.touch()
    assert health("health-worker-file", "60", KORE_WORKER_HEARTBEAT_FILE=str(beat)).returncode == 0
    old = time.time() - 120
    os.utime(beat, (old, old))
    stale = health("health-worker-file", "60", KORE_WORKER_HEARTBEAT_FILE=str(beat))
    assert stale.returncode == 1
    assert "heartbeat is 12" in stale.stderr


@pytest.fixture
def gunicorn_stand_in() -> Iterator[tuple[int, list[int]]]:
    """An HTTP server answering /api/v1/health/live/ with the status the test sets."""
    status = [200]
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            code = status[0] if self.path == "/api/v1/health/live/" else 404
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}')

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], status
    server.shutdown()
    assert seen
    assert set(seen) == {"/api/v1/health/live/"}


def test_web_liveness_over_bash(gunicorn_stand_in: tuple[int, list[int]]) -> None:
    port, status = gunicorn_stand_in
    bind = f"0.0.0.0:{port}"
    assert health("health-web", GUNICORN_BIND=bind).returncode == 0
    status[0] = 503
    failed = health("health-web", GUNICORN_BIND=bind)
    assert failed.returncode == 1
    assert "503" in failed.stderr


def test_web_liveness_fails_when_nothing_listens() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    assert health("health-web", GUNICORN_BIND=f"0.0.0.0:{port}").returncode != 0
