"""Rolling restart on the native stack: each Gunicorn in turn is stopped gracefully (SIGTERM: it
stops accepting, finishes what it holds) and started again while clients keep sending GETs
through Nginx, which retries a refused or dropped request on the other instance
(proxy_next_upstream error timeout). Each instance goes only once Nginx sends to the one
restarted before it. Not one request may fail. Then the worker's metrics and
JSON lines, as Prometheus and a log shipper would read them."""

import json
import signal
import threading
import time
from collections import Counter

import pytest
import requests

from .stack import HOST, ROOT, send_task, wait_for
from .test_stack import create_ledger
from .test_stack_faults import stream_gets

MAX_SECONDS = 120.0


@pytest.fixture(scope="module")
def ledger(stack) -> tuple[str, int, list[int]]:
    return create_ledger(stack)


def test_rolling_restart_of_each_gunicorn_fails_no_request(stack, ledger):
    path = f"/api/v1/orgs/{ledger[0]}/transactions/?limit=20"
    stop, outcomes = threading.Event(), Counter[str]()
    started = time.monotonic()
    threads = stream_gets(stack, path, stop, outcomes, threads=4)
    restarted = []
    try:
        wait_for("traffic to flow", lambda: sum(outcomes.values()) > 20, 20)
        for index in range(len(stack.web)):
            old = stack.web[index]
            before = sum(outcomes.values())
            old.popen.send_signal(signal.SIGTERM)  # the master: graceful for its workers
            old.popen.wait(timeout=40)
            log_start = len(stack.django_log(index))
            stack.web_start(index)
            stack.web_wait(index)
            # Before the next instance goes, Nginx must send to this one again: it marked it
            # down (max_fails=3 fail_timeout=10s) while it was away, and with both marked down
            # it would answer 502. deploy.sh's health waits serve the same purpose. The
            # instance's own request log shows it served the list again.
            served = f"{HOST}:{stack.web_ports[index]}"
            wait_for(
                f"Nginx to send requests to {served} again",
                lambda start=log_start, i=index: any(
                    e["path"] == path.split("?")[0] and e["status"] == 200
                    for e in stack.django_log(i)[start:]
                ),
                30,
                0.2,
            )
            assert sum(outcomes.values()) > before
            restarted.append(index)
            assert time.monotonic() - started < MAX_SECONDS
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    total = sum(outcomes.values())
    seconds = time.monotonic() - started
    report = {"requests": total, "seconds": round(seconds, 1), "outcomes": dict(outcomes)}
    artefacts = ROOT / "var" / "artefacts"
    artefacts.mkdir(parents=True, exist_ok=True)
    (artefacts / "rolling-restart.json").write_text(json.dumps(report) + "\n")
    print(f"\nrolling restart of {len(restarted)} Gunicorns: {report}")  # noqa: T201
    assert restarted == [0, 1]
    assert outcomes == Counter({"200": total}), outcomes
    assert total > 100
    assert stack.healthy()


def test_metrics_are_not_public_and_each_instance_counts_what_nginx_sent(stack):
    # Through Nginx the path does not exist, token or not; on the internal address the token
    # is required.
    public = stack.base + "/ops/metrics"
    assert requests.get(public, timeout=10).status_code == 404
    bearer = {"Authorization": f"Bearer {stack.metrics_token}"}
    assert requests.get(public, headers=bearer, timeout=10).status_code == 404
    direct = f"http://{HOST}:{stack.web_ports[0]}/ops/metrics"
    assert requests.get(direct, timeout=10).status_code == 401
    for _ in range(5):
        assert stack.get("/api/v1/health/live/").status_code == 200

    def live_requests_counted() -> float:
        body = ""
        for port in stack.web_ports:  # Prometheus scrapes each instance
            response = requests.get(
                f"http://{HOST}:{port}/ops/metrics",
                headers={"Authorization": f"Bearer {stack.metrics_token}"},
                timeout=10,
            )
            assert response.status_code == 200
            body += response.text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in body.splitlines()
            if line.startswith("kore_http_requests_total{") and 'view="health-live"' in line
        )

    # Each worker writes its counts in batches, about once a second.
    wait_for("five liveness requests counted", lambda: live_requests_counted() >= 5, timeout=15)


def test_worker_serves_task_metrics_and_writes_json_lines(stack):
    send_task(stack, "kore.ops.purge_idempotency_keys")
    url = f"http://{HOST}:{stack.worker_metrics_port}/metrics"

    def counted() -> bool:
        text = requests.get(url, timeout=5).text
        return (
            'kore_celery_tasks_total{state="SUCCESS",task="kore.ops.purge_idempotency_keys"}'
            in text
        )

    wait_for("the worker's metrics to count the task", counted, 30, 0.3)
    text = requests.get(url, timeout=5).text
    assert "kore_celery_task_duration_seconds_bucket" in text
    assert 'kore_process_tree_memory_bytes{service="worker"}' in text
    lines = [
        json.loads(line)
        for line in stack.worker.log.read_text().splitlines()
        if line.startswith("{")
    ]
    finished = [r for r in lines if r.get("message") == "task finished"]
    assert finished, stack.worker.tail()
    assert finished[-1]["level"] == "INFO"
    assert finished[-1]["task_name"] == "kore.ops.purge_idempotency_keys"
    assert isinstance(finished[-1]["duration_ms"], float)


def test_each_process_writes_its_request_counts_for_the_status_page(stack):
    """The Gunicorn workers' flusher threads (every KORE_OPS_FLUSH_SECONDS, 10 s) fill the table
    /ops/status/ reads; a worker's warning reaches the problems table the same way."""

    def counted() -> int:
        rows = stack.sql("SELECT coalesce(sum(requests), 0) FROM ops_requestminute")
        return int(rows[0][0])

    before = counted()
    for _ in range(10):
        assert stack.get("/api/v1/health/live/").status_code == 200
    wait_for(
        "the request counts to reach ops_requestminute", lambda: counted() >= before + 10, 40, 0.5
    )
    assert stack.get("/api/v1/no-such-page/").status_code == 404  # django.request warns

    def warned() -> bool:
        rows = stack.sql(
            "SELECT count(*) FROM ops_problemlog WHERE logger = 'django.request' "
            "AND message LIKE 'Not Found: /api/v1/no-such-page/%%'"
        )
        return bool(rows[0][0])

    wait_for("the warning to reach ops_problemlog", warned, 40, 0.5)
