"""Celery's side of the metrics: task counts and durations (kore.ops.metrics) and, for prefork
workers in multiprocess mode, an internal scrape port serving every pool process's values.

``KORE_WORKER_METRICS_PORT`` (unset: no port) is for Prometheus on the internal network only;
never publish it.
"""

import os
from typing import Any

from celery import signals

from config.env import env_int

# Read when the worker loads this module, so that a bad value stops it at start-up.
METRICS_PORT = env_int("KORE_WORKER_METRICS_PORT", default=0, min_value=0, max_value=65535)


def _on_worker_init(**_: Any) -> None:
    # The main process starts before its pool: values left by a previous run are cleared.
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.unlink(os.path.join(path, name))


def _on_worker_ready(**_: Any) -> None:
    port = METRICS_PORT
    if not port:
        return
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    from .metrics import ScrapeTimeCollector

    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    registry.register(ScrapeTimeCollector(backup=False))
    addr = os.environ.get("KORE_WORKER_METRICS_ADDR", "0.0.0.0")  # noqa: S104 - internal network
    start_http_server(port, addr=addr, registry=registry)


def _on_process_shutdown(pid: int | None = None, **_: Any) -> None:
    from .metrics import mark_process_dead

    mark_process_dead(pid or os.getpid())


def connect() -> None:
    """Hook the worker's life cycle (called where the Celery app is made)."""
    signals.worker_init.connect(_on_worker_init, weak=False)
    signals.worker_ready.connect(_on_worker_ready, weak=False)
    signals.worker_process_shutdown.connect(_on_process_shutdown, weak=False)
