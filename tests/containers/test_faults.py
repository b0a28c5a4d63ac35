"""Faults in the running production stack, each under a bounded request loop through Nginx: a web
container killed, the worker killed mid-import, PostgreSQL restarted, Redis stopped."""

import json
import secrets
import threading
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
import requests

from .load import Loop, during, ledger, signed_in
from .stack import Stack, wait_for

pytestmark = pytest.mark.containers
REPORT: dict[str, str] = {}
IMPORT_ROWS = 100_000


@pytest.fixture(scope="module")
def auth(stack: Stack) -> dict[str, str]:
    return signed_in(stack, "faults@kore.test")


@pytest.fixture(scope="module")
def books(stack: Stack, auth: dict[str, str]) -> tuple[str, int]:
    return ledger(stack, auth, "Faults")


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    from .conftest import REPORT as SESSION

    SESSION["faults (bounded request loops through Nginx)"] = [
        f"{name}: {line}" for name, line in REPORT.items()
    ]


def crash(stack: Stack, container: str) -> None:
    """SIGKILL every process of the container but its init, as the kernel's OOM killer would: the
    container exits and its restart policy brings it back (`docker kill` counts as a stop by hand,
    which the policy leaves stopped)."""
    stack.docker("exec", "--user", "0", container, "sh", "-c", "kill -9 -1", check=False)


def transactions_in(stack: Stack, account: int) -> int:
    """The account's transactions, counted in the database."""
    code = f"print(Transaction.objects.filter(account_id={account}).count())"
    out = stack.shell("from kore.ledger.models import Transaction\n" + code)
    return int(out.split()[-1])


def replicas(stack: Stack) -> list[str]:
    return stack.compose("ps", "--quiet", "django").split()


def answers_itself(stack: Stack, container: str) -> bool:
    code = ("import sys, urllib.request as u; sys.exit(u.urlopen("
            "'http://127.0.0.1:8000/api/v1/health/live/', timeout=5).status != 200)")  # fmt: skip
    return not stack.docker("exec", container, "python", "-c", code, check=False).strip() and (
        stack.docker("inspect", "--format", "{{.State.Running}}", container).strip() == "true"
    )


def test_killing_a_web_container_fails_no_get(stack: Stack, auth: dict[str, str],
                                              books: tuple[str, int]) -> None:  # fmt: skip
    """Two replicas; one is SIGKILLed mid-traffic: Nginx retries the GET on the other."""
    slug, _ = books
    stack.compose("up", "--detach", "--no-deps", "--no-recreate", "--scale", "django=2", "django")
    both = wait_for("two web replicas", lambda: len(replicas(stack)) == 2 and replicas(stack), 60)
    for container in both:
        wait_for(f"replica {container[:12]} to answer",
                 partial(answers_itself, stack, container), 120, 2)  # fmt: skip
    time.sleep(13)  # Nginx's watcher re-resolves `django` every 10 s
    loop = Loop(stack, ["/api/v1/health/live/", f"/api/v1/orgs/{slug}/transactions/",
                        "/api/v1/me/"], headers=auth, workers=4, limit=120)  # fmt: skip
    victim = both[0]
    during(loop, lambda: crash(stack, victim), before=4, after=15)
    REPORT["web container killed"] = loop.summary()
    assert loop.sent_after >= 4, loop.summary()
    assert loop.failed == 0, f"{loop.summary()}: {loop.failures}"
    # Its restart policy brings it back.
    wait_for("the killed replica to run again", lambda: answers_itself(stack, victim), 120, 2)


# Run in a web container: its Gunicorn workers (children of the master, PID 1's child), and a
# setting as its master read config/gunicorn.conf.py (the container's environment).
WORKER_PIDS = """import os
def parent(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1]
    except (OSError, IndexError):
        return ""
pids = [p for p in os.listdir("/proc") if p.isdigit()]
masters = {p for p in pids if parent(p) == "1"}
print(" ".join(sorted(p for p in pids if parent(p) in masters)))
"""
SETTING = "import runpy; print(runpy.run_path('config/gunicorn.conf.py')[{!r}])"


def gunicorn_workers(stack: Stack) -> dict[str, list[str]]:
    return {
        c: stack.docker("exec", c, "python", "-c", WORKER_PIDS).split() for c in replicas(stack)
    }


def test_writes_through_nginx_never_meet_a_recycling_worker(
    stack: Stack, auth: dict[str, str], books: tuple[str, int]
) -> None:
    """Nginx sends a POST once: one that reaches a Gunicorn worker as it stops answers 502 (27 of
    628 POSTs with 6 workers stopping, 2 of 631 without Nginx's upstream keepalive: the figures
    are in config/gunicorn.conf.py). So the stack never recycles workers (max_requests 0), and a
    stream of writes through Nginx gets no 502."""
    slug, account = books
    for container in replicas(stack):
        setting = stack.docker("exec", container, "python", "-c", SETTING.format("max_requests"))
        assert setting.split() == ["0"], setting
    before = gunicorn_workers(stack)
    assert all(len(pids) >= 2 for pids in before.values()), before
    loop = Loop(stack, [f"/api/v1/orgs/{slug}/transactions/"], headers=auth, workers=4, pause=0,
                limit=30, body=lambda n: {"account": account, "occurred_on": "2026-03-02",
                                          "amount": f"-{n % 97 + 1}.00"})  # fmt: skip
    with loop:
        time.sleep(15)
    REPORT["writes (POSTs) through Nginx"] = f"{loop.summary()}; no worker recycled"
    assert loop.sent >= 50, loop.summary()
    assert loop.failed == 0, f"{loop.summary()}: {loop.failures}"
    assert gunicorn_workers(stack) == before  # the same workers: none stopped under the writes


def test_worker_killed_mid_import_finishes_it_exactly_once(
    stack: Stack, auth: dict[str, str]
) -> None:
    # An organisation of its own: count exactly what this import wrote.
    slug, account = ledger(stack, auth, f"Import {secrets.token_hex(3)}")
    lines = ["date,amount,description"]
    lines += [f"2025-{1 + i % 12:02d}-{1 + i % 28:02d},{(i % 997) - 498}.{i % 100:02d},Row {i}"
              for i in range(IMPORT_ROWS)]  # fmt: skip
    body = ("\n".join(lines) + "\n").encode()
    mapping = {"date": "date", "amount": "amount", "description": "description"}
    upload = stack.request(
        "POST", f"/api/v1/orgs/{slug}/imports/", headers=auth, timeout=120,
        files={"file": ("big.csv", body, "text/csv")},
        data={"account": str(account), "format": "csv", "mapping": json.dumps(mapping)},
    )  # fmt: skip
    assert upload.status_code == 202, upload.text
    job_url = f"/api/v1/orgs/{slug}/imports/{upload.json()['id']}/"

    def job() -> dict[str, Any]:
        return dict(stack.get(job_url, headers=auth).json())

    running = wait_for("the import to be running", lambda: job()["status"] == "running" and job(),
                       120, 0.2)  # fmt: skip
    worker = stack.compose("ps", "--quiet", "celeryworker").split()[0]
    crash(stack, worker)
    killed_at = job()
    assert killed_at["status"] == "running", killed_at  # killed mid-import, not after it
    # Docker restarts the worker (restart: unless-stopped). The job sits `running` with a heartbeat
    # that no longer moves: the reaper (every 5 min, KORE_IMPORT_STALE_SECONDS) re-queues it; here
    # it runs now, with a 5-second deadline, instead of in ten minutes.
    time.sleep(6)
    reaped = stack.shell(
        "from datetime import timedelta\n"
        "from kore.imports.services import import_jobs_reap\n"
        "print(import_jobs_reap(stale_after=timedelta(seconds=5)))\n"
    )
    assert str(running["id"]) in reaped, reaped
    done = wait_for("the import to finish", lambda: job()["status"] in ("done", "failed") and job(),
                    300, 2)  # fmt: skip
    assert done["status"] == "done", done
    assert done["counts"]["created"] == IMPORT_ROWS, done["counts"]
    booked = transactions_in(stack, account)
    assert booked == IMPORT_ROWS, booked
    REPORT["worker killed mid-import"] = (
        f"{IMPORT_ROWS} rows, killed at {killed_at['progress']}, re-queued, done with "
        f"{booked} transactions (each row once)"
    )


def _post_until_written(stack: Stack, url: str, auth: dict[str, str], body: dict[str, Any],
                        key: str, deadline: float) -> int:  # fmt: skip
    """A client that retries a write with the same Idempotency-Key until it is acknowledged."""
    attempts = 0
    while True:
        attempts += 1
        try:
            response = stack.request("POST", url, json=body, timeout=15,
                                     headers=auth | {"Idempotency-Key": key})  # fmt: skip
            if response.status_code in (200, 201):
                return attempts
            # The outage is a 503 to retry (Kore's database_unavailable, or Nginx's own), never a
            # 500: that would be a bug.
            assert response.status_code in (502, 503, 504), response.text
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, f"write {key} never acknowledged"
        time.sleep(0.5)


def test_postgres_restart_loses_no_write(stack: Stack, auth: dict[str, str]) -> None:
    slug, _ = ledger(stack, auth, f"Writes {secrets.token_hex(3)}")
    account = stack.get(f"/api/v1/orgs/{slug}/accounts/", headers=auth).json()["results"][0]["id"]
    url = f"/api/v1/orgs/{slug}/transactions/"
    statuses: list[str] = []
    written: list[str] = []
    retried = 0
    stop = threading.Event()

    def watch_health() -> None:
        while not stop.is_set():
            try:
                statuses.append(stack.get("/api/v1/health/", timeout=10).json()["status"])
            except (requests.RequestException, ValueError):
                statuses.append("no answer")
            time.sleep(0.5)

    broken: list[BaseException] = []

    def write() -> None:
        nonlocal retried
        deadline = time.monotonic() + 240
        n = 0
        try:
            while not stop.is_set():
                key = secrets.token_hex(8)
                body = {"account": account, "occurred_on": "2026-03-01", "amount": f"-{n + 1}.00"}
                retried += _post_until_written(stack, url, auth, body, key, deadline) - 1
                written.append(key)
                n += 1
                time.sleep(0.1)
        except BaseException as error:  # the test fails with it below
            broken.append(error)

    threads = [threading.Thread(target=watch_health), threading.Thread(target=write)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(3)
        # Stopped until the health check has seen it gone (a restart alone can be over between
        # two checks), then started again.
        stack.compose("stop", "postgres")
        wait_for("health to see the database gone",
                 lambda: statuses and statuses[-1] in ("error", "no answer"), 60)  # fmt: skip
        stack.compose("start", "postgres")
        wait_for("health ok again", lambda: statuses and statuses[-1] == "ok", 120)
        time.sleep(3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not broken, broken
    assert "ok" in statuses[:3], statuses[:3]
    assert "error" in statuses or "no answer" in statuses, statuses  # the outage was seen
    assert statuses[-1] == "ok"
    booked = transactions_in(stack, account)
    assert booked == len(written), (booked, len(written))
    REPORT["PostgreSQL restarted"] = (
        f"health {' -> '.join(dict.fromkeys(statuses))}; {len(written)} writes acknowledged "
        f"({retried} retries with the same Idempotency-Key), {booked} in the database"
    )


def test_redis_stopped_degrades_health_and_reads_still_answer(
    stack: Stack, auth: dict[str, str], books: tuple[str, int]
) -> None:
    slug, _ = books
    loop = Loop(stack, [f"/api/v1/orgs/{slug}/transactions/", f"/api/v1/orgs/{slug}/accounts/",
                        "/api/v1/me/"], headers=auth, workers=2, limit=120)  # fmt: skip
    seen: dict[str, Any] = {}
    stopped = float("inf")

    def outage() -> None:
        nonlocal stopped
        stopped = time.monotonic()
        stack.compose("stop", "redis", "redis-cache")
        body = wait_for("health to say degraded",
                        lambda: (r := stack.get("/api/v1/health/")).status_code == 200
                        and r.json()["status"] == "degraded" and r.json(), 60)  # fmt: skip
        seen.update(body)

    try:
        during(loop, outage, before=3, after=8)
    finally:
        stack.compose("start", "redis", "redis-cache")
    p95 = loop.p95(since=stopped)
    REPORT["Redis stopped"] = f"health degraded; reads {loop.summary()}, p95 {p95:.2f} s while down"
    assert seen["checks"]["cache"]["status"] != "ok", seen
    assert seen["checks"]["broker"]["status"] != "ok", seen
    assert seen["checks"]["database"]["status"] == "ok", seen
    assert loop.sent_after >= 2, loop.summary()
    assert loop.failed == 0, f"{loop.summary()}: {loop.failures}"
    # The cache fails fast while its server is gone (kore/core/redis_connection.py): reads answer
    # in their usual time, not after a name lookup's timeout (10 s each before).
    assert p95 < 1.0, f"p95 {p95:.2f} s while Redis was down; {loop.summary()}"
    wait_for("health ok again", lambda: stack.get("/api/v1/health/").json()["status"] == "ok", 90)
