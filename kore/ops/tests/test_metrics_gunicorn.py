"""Prometheus multiprocess mode in a real Gunicorn (config/gunicorn.conf.py) with two workers.

Requests land on both workers; one scrape must add up every worker's counts, a worker that died
included (its counters stay, Gunicorn's child_exit hook marks it dead). Each request is logged
once, by Django, and every line is a JSON object.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest
import requests

from kore.core.testing import wait_until
from kore.ops.metrics import BATCH_SECONDS

ROOT = Path(__file__).resolve().parents[3]
GUNICORN = Path(sys.executable).with_name("gunicorn")
TOKEN = "gunicorn-metrics-token-0123456789abcdef"
REQUESTS = 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Gunicorn:
    base: str
    process: subprocess.Popen[bytes]
    log: Path
    metrics_dir: Path

    def workers(self) -> list[int]:
        return [child.pid for child in psutil.Process(self.process.pid).children()]

    def scrape(self, token: str | None = TOKEN) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(self.base + "/ops/metrics", headers=headers, timeout=10)

    def settled_live_count(self) -> float:
        """The count once two scrapes a batch period apart agree (every batch written)."""
        count = self.live_count()
        for _ in range(20):
            time.sleep(BATCH_SECONDS + 0.5)
            again = self.live_count()
            if again == count:
                return count
            count = again
        pytest.fail(f"the request count never settled (last {count})")

    def live_count(self) -> float:
        text = self.scrape().text
        for line in text.splitlines():
            if line.startswith("kore_http_requests_total{") and 'view="health-live"' in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory) -> Iterator[Gunicorn]:
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    port = _free_port()
    metrics_dir = tmp_path / "prometheus"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PYTHONUNBUFFERED": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "KORE_METRICS_TOKEN": TOKEN,
        "KORE_LOG_FORMAT": "json",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
        "GUNICORN_MAX_REQUESTS": "0",
    }
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"stale")  # a previous run's: wiped
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(GUNICORN), "-c", "config/gunicorn.conf.py", "config.wsgi:application"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Gunicorn(f"http://127.0.0.1:{port}", process, log, metrics_dir)
    try:
        deadline = time.monotonic() + 40
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited: {log.read_text()[-3000:]}")
            try:
                if len(server.workers()) == 2 and server.scrape().status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer in time: {log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def _hit(base: str) -> int:
    # A new connection each time, so both workers take their share.
    response = requests.get(
        base + "/api/v1/health/live/", headers={"Connection": "close"}, timeout=10
    )
    return response.status_code


def _pids_with_counters(metrics_dir: Path) -> set[int]:
    return {int(p.stem.rsplit("_", 1)[1]) for p in metrics_dir.glob("counter_*.db")}


def test_scrape_without_the_token_is_refused(gunicorn):
    assert gunicorn.scrape(token=None).status_code == 401
    assert gunicorn.scrape(token="not-the-token").status_code == 401


def test_a_request_is_logged_once_in_json(gunicorn):
    assert _hit(gunicorn.base) == 200

    def lines_of_this_request() -> list[dict[str, object]]:
        lines = [line for line in gunicorn.log.read_text().splitlines() if line.startswith("{")]
        records = [json.loads(line) for line in lines]
        return [r for r in records if r.get("path") == "/api/v1/health/live/"]

    # Django's line, which knows the route, user and organisation; Gunicorn's access log is off.
    logged = wait_until(lines_of_this_request, timeout=10, what="the request's log line")
    assert [r["logger"] for r in logged] == ["kore.request"], logged
    line = logged[0]
    assert line["level"] == "INFO"
    assert line["status"] == 200
    assert line["view"] == "health-live"
    assert isinstance(line["duration_ms"], float)
    assert len(str(line["request_id"])) >= 8
    records = [json.loads(x) for x in gunicorn.log.read_text().splitlines() if x.startswith("{")]
    errors = [r for r in records if r.get("logger") == "gunicorn.error"]
    assert any("Booting worker" in str(r["message"]) for r in errors)


def test_two_workers_counts_add_up_in_one_scrape(gunicorn):
    assert not (gunicorn.metrics_dir / "counter_999999.db").exists()
    workers = set(gunicorn.workers())
    before = gunicorn.settled_live_count()  # earlier tests' requests written by now
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: _hit(gunicorn.base), range(REQUESTS)))
    assert statuses == [200] * REQUESTS
    # Both workers wrote counters (each process has its own file).
    assert workers <= _pids_with_counters(gunicorn.metrics_dir), (
        workers,
        sorted(gunicorn.metrics_dir.iterdir()),
    )
    # Each worker writes its counts in batches, about once a second.
    wait_until(
        lambda: gunicorn.live_count() - before == REQUESTS, timeout=10, what="every request counted"
    )

    # A worker dies: Gunicorn replaces it; what it counted is still in the sum.
    victim = sorted(workers)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while victim in gunicorn.workers() or len(gunicorn.workers()) < 2:
        assert time.monotonic() < deadline, "gunicorn did not replace the killed worker"
        time.sleep(0.1)
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert set(pool.map(lambda _: _hit(gunicorn.base), range(20))) == {200}
    wait_until(
        lambda: gunicorn.live_count() - before == REQUESTS + 20,
        timeout=10,
        what="the new worker's requests counted",
    )
