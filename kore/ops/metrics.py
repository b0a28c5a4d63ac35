"""Prometheus metrics for Kore's web and worker processes.

With ``PROMETHEUS_MULTIPROC_DIR`` set (Gunicorn, Celery prefork) every process writes its values
to files in that directory and a scrape adds them up (prometheus-client's multiprocess mode);
Gunicorn's ``child_exit`` hook and Celery's ``worker_process_shutdown`` signal mark dead processes.
Without it (the embedded runtime, tests) the values live in this process.

Others call ``import_rows_record(n)`` after committing imported rows; Prometheus turns the counter
into rows/s with ``rate()``.
"""

import atexit
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import psutil  # type: ignore[import-untyped]

# Every process that imports this module writes its values there: the directory must exist
# (one-shot containers such as migrate start with an empty /tmp).
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .periodic import PeriodicThread

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "kore_http_requests_total",
    "HTTP requests served, by route name, method and status code.",
    ["view", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "kore_http_request_duration_seconds",
    "Time from the request reaching Django to the response leaving it, by route name.",
    ["view"],
    buckets=LATENCY_BUCKETS,
)
HTTP_DB_QUERIES = Histogram(
    "kore_http_db_queries",
    "Database queries run while serving one request, by route name.",
    ["view"],
    buckets=(0, 1, 2, 3, 5, 10, 20, 50, 100, 200),
)
TASKS = Counter(
    "kore_celery_tasks_total",
    "Celery tasks finished, by task name and state (SUCCESS, FAILURE, RETRY, ...).",
    ["task", "state"],
)
TASK_DURATION = Histogram(
    "kore_celery_task_duration_seconds",
    "Run time of Celery tasks, by task name.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0),
)
IMPORT_ROWS = Counter("kore_import_rows_total", "Bank-statement rows committed by imports.")


def import_rows_record(count: int) -> None:
    """Count ``count`` imported rows (call after they are committed)."""
    if count > 0:
        IMPORT_ROWS.inc(count)


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


class ScrapeTimeCollector(Collector):
    """Values computed when Prometheus scrapes: last good backup's age, process memory."""

    def __init__(self, *, backup: bool = True) -> None:
        self.backup = backup

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.backup:
            yield from _backup_metrics()
            yield from _health_metrics()
        memory = GaugeMetricFamily(
            "kore_process_tree_memory_bytes",
            "Resident memory of this service's process tree (the Gunicorn or Celery master "
            "and its children).",
            labels=["service"],
        )
        service, rss = process_tree_rss()
        memory.add_metric([service], rss)
        yield memory


def _backup_metrics() -> Iterator[GaugeMetricFamily]:
    from .status import backup_last_good_summary

    summary = backup_last_good_summary()
    present = GaugeMetricFamily(
        "kore_backup_present", "1 when a verified good backup exists, 0 when none does yet."
    )
    present.add_metric([], 1.0 if summary.get("age_seconds") is not None else 0.0)
    yield present
    if summary.get("age_seconds") is not None:
        age = GaugeMetricFamily(
            "kore_backup_last_good_age_seconds", "Seconds since the last good backup finished."
        )
        age.add_metric([], float(summary["age_seconds"]))
        yield age
        size = GaugeMetricFamily(
            "kore_backup_last_good_size_bytes", "Size of the last good backup in bytes."
        )
        size.add_metric([], float(summary.get("size_bytes") or 0))
        yield size


def _health_metrics() -> Iterator[GaugeMetricFamily]:
    from .health import run_checks

    _, results = run_checks()
    ok = GaugeMetricFamily(
        "kore_health_check_ok",
        "1 when a readiness check passes (or is not used here), 0 when it fails or times out.",
        labels=["check"],
    )
    latency = GaugeMetricFamily(
        "kore_health_check_latency_seconds", "Time the readiness check took.", labels=["check"]
    )
    for name, result in results.items():
        ok.add_metric([name], 1.0 if result.status in ("ok", "skipped") else 0.0)
        latency.add_metric([name], result.latency_ms / 1000)
    yield ok
    yield latency


def process_tree_rss() -> tuple[str, float]:
    """(service, bytes): the RSS of this process's master (Gunicorn, Celery) and its children."""
    me = psutil.Process()
    parent = me.parent()
    root = parent if parent is not None and _service_of(parent) != "django" else me
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return _service_of(root), float(total)


def _service_of(process: psutil.Process) -> str:
    try:
        command = " ".join(process.cmdline()[:4])
    except psutil.Error:
        return "django"
    return "web" if "gunicorn" in command else "worker" if "celery" in command else "django"


def registry() -> CollectorRegistry:
    """The registry a scrape reads: every process's files in multiprocess mode, else this one."""
    path = multiprocess_dir()
    if not path:
        return REGISTRY
    scrape = CollectorRegistry()
    multiprocess.MultiProcessCollector(scrape, path=path)  # type: ignore[no-untyped-call]
    return scrape


def exposition() -> bytes:
    """The text a scrape returns."""
    _batch.flush()  # this process's own requests up to now
    scrape = registry()
    extra = ScrapeTimeCollector()
    scrape.register(extra)
    try:
        return generate_latest(scrape)
    finally:
        scrape.unregister(extra)


def observe_request(*, view: str, method: str, status: int, seconds: float, queries: int) -> None:
    """Count one served request. In multiprocess mode it is added to this process's batch, which
    reaches the shared files every ``BATCH_SECONDS`` (and before this process answers a scrape)."""
    if not multiprocess_dir():
        HTTP_REQUESTS.labels(view=view, method=method, status=str(status)).inc()
        HTTP_LATENCY.labels(view=view).observe(seconds)
        HTTP_DB_QUERIES.labels(view=view).observe(queries)
        return
    _batch.add(view=view, method=method, status=status, seconds=seconds, queries=queries)
    _batch_flusher.ensure_started()


# Multiprocess mode writes every value to a memory-mapped file under a lock: five writes and
# three label lookups per request. A batch adds requests up in memory instead, and a flush
# writes each changed value once.
BATCH_SECONDS = 1.0


class _Histogram:
    """Observations of one histogram child not yet written: their sum and per-bucket counts."""

    __slots__ = ("buckets", "total")

    def __init__(self, size: int) -> None:
        self.total = 0.0
        self.buckets = [0] * size

    def observe(self, bounds: tuple[float, ...], amount: float) -> None:
        self.total += amount
        for i, bound in enumerate(bounds):
            if amount <= bound:
                self.buckets[i] += 1
                return

    def write_to(self, child: Any) -> None:
        # What Histogram.observe does per observation (prometheus-client keeps the sum and one
        # value per bucket), once per batch.
        child._sum.inc(self.total)
        for i, count in enumerate(self.buckets):
            if count:
                child._buckets[i].inc(count)


class RequestBatch:
    """Per-process request metrics since the last flush."""

    # The histograms' own bounds, +Inf last (prometheus-client adds it).
    latency_bounds = tuple(HTTP_LATENCY._upper_bounds)
    queries_bounds = tuple(HTTP_DB_QUERIES._upper_bounds)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.requests: dict[tuple[str, str, str], int] = {}
        self.latency: dict[str, _Histogram] = {}
        self.queries: dict[str, _Histogram] = {}

    def add(self, *, view: str, method: str, status: int, seconds: float, queries: int) -> None:
        key = (view, method, str(status))
        with self._lock:
            self.requests[key] = self.requests.get(key, 0) + 1
            latency = self.latency.get(view)
            if latency is None:
                latency = self.latency[view] = _Histogram(len(self.latency_bounds))
            latency.observe(self.latency_bounds, seconds)
            counts = self.queries.get(view)
            if counts is None:
                counts = self.queries[view] = _Histogram(len(self.queries_bounds))
            counts.observe(self.queries_bounds, queries)

    def flush(self) -> None:
        """Write what was added since the last flush to the metrics."""
        with self._lock:
            requests, latency, queries = self.requests, self.latency, self.queries
            self._reset()
        for (view, method, status), count in requests.items():
            HTTP_REQUESTS.labels(view=view, method=method, status=status).inc(count)
        for view, histogram in latency.items():
            histogram.write_to(HTTP_LATENCY.labels(view=view))
        for view, histogram in queries.items():
            histogram.write_to(HTTP_DB_QUERIES.labels(view=view))


_batch = RequestBatch()
_batch_flusher = PeriodicThread("kore-metrics-flush", _batch.flush, lambda: BATCH_SECONDS)
atexit.register(_batch.flush)  # a worker leaving on purpose (max_requests, a restart) loses none


def mark_process_dead(pid: int) -> None:
    """Tell prometheus-client a process is gone (its live gauges drop out)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


# --- Celery ---------------------------------------------------------------------------------
_task_started: dict[str, float] = {}


def task_prerun(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _task_started[task_id] = time.perf_counter()


def task_postrun(
    task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any
) -> None:
    started = _task_started.pop(task_id or "", None)
    name = getattr(task, "name", "unknown")
    TASKS.labels(task=name, state=state or "UNKNOWN").inc()
    if started is not None:
        seconds = time.perf_counter() - started
        TASK_DURATION.labels(task=name).observe(seconds)
        import logging

        logging.getLogger("kore.tasks").info(
            "task finished",
            extra={"task": name, "state": state, "duration_ms": round(seconds * 1000, 2)},
        )
