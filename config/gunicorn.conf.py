"""Gunicorn settings, every one from the environment: ``gunicorn -c config/gunicorn.conf.py``."""

import gc
import math
import os
import sys
from pathlib import Path

# Gunicorn loads this file by path: the project root may not be importable yet.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kore.ops.gunicorn_logging import config_env

# Strict readers: a bad value stops Gunicorn at start-up, naming the variable.
_strict = config_env()
env_bool, env_choice, env_int = _strict.env_bool, _strict.env_choice, _strict.env_int


def _cpus() -> int:
    """CPUs this process may use: the cgroup v2 quota if set, else the affinity mask."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as f:
            quota, period = f.read().split()  # "max 100000" or "150000 100000"
        if quota != "max":
            return max(1, min(usable, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 limit visible
    return usable


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = env_int("WEB_CONCURRENCY", default=max(3, 2 * _cpus() + 1), min_value=1)
# gthread stays the default (make bench, 2 vCPUs, 200k rows, 2026-11-23, machine shared and loaded):
# on the list sync was +9 % at 10 connections and +19 % at 100, not >10 % at both levels, and in
# an earlier run -25 % / -67 %: within the noise, no clear win. On the trivial view sync fell to
# 58 % at 100 connections. gthread also keeps Nginx's upstream keepalive (sync closes every
# connection) and a slow client cannot hold a whole worker.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# Each thread can hold a PostgreSQL connection (CONN_MAX_AGE): workers x threads <= the pool.
threads = env_int("GUNICORN_THREADS", default=4, min_value=1)
timeout = env_int("GUNICORN_TIMEOUT", default=60, min_value=1)
# Idle keepalive connections stay open longer than Nginx keeps them in its upstream pool (60 s):
# the proxy, not Gunicorn, closes them. With Gunicorn's 2 s default a connection Nginx reuses
# can be closed under it; the request then fails on that instance, counts towards max_fails and
# is retried elsewhere, which during a rolling restart is nowhere.
keepalive = env_int("GUNICORN_KEEPALIVE", default=75, min_value=1)
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", default=30, min_value=1)
# No recycling by default: a POST is never retried by Nginx, and a gthread worker that stops
# (max_requests) fails the requests it holds unread. Measured through Nginx in the Compose stack,
# 6 workers stopped (SIGTERM: the path max_requests takes) under 6 threads of POSTs, 2026-12-06:
# 27 of 628 POSTs answered 502 with Nginx's upstream keepalive (its idle connections to that
# worker are reset under the next request), still 2 of 631 without it (Gunicorn 23's gthread
# worker drops a connection it accepted in the loop turn in which it stops); 0 with no
# recycling. Set GUNICORN_MAX_REQUESTS only to contain a leak, knowing each recycle can fail a
# write or two.
max_requests = env_int("GUNICORN_MAX_REQUESTS", default=0, min_value=0)
max_requests_jitter = env_int("GUNICORN_MAX_REQUESTS_JITTER", default=100, min_value=0)
# The heartbeat file on tmpfs: a slow or full disk must not get workers killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# GUNICORN_PRELOAD=true loads Kore once in the master and forks the workers from it, after
# gc.freeze(): the collector then never walks the inherited objects, so their pages stay shared
# instead of being copied into every worker. Measured with 2 gthread workers after a load (summed
# PSS, master included): 185 MB without preload, 199 MB with preload alone, 158 MB with preload
# and the freeze. The catches: SIGHUP then restarts workers on the master's code, so a new release
# needs a full restart (containers always do); and a restarting master loads the app before it
# binds, so for a second or two connections are refused rather than queued (behind Nginx with
# two instances that is a retry on the other). On in the 512 MB profile; off by default.
preload_app = env_bool("GUNICORN_PRELOAD", default=False)
if preload_app:
    gc.disable()  # no collections while the app loads: no holes in the pages to be shared


def pre_fork(server: object, worker: object) -> None:
    if preload_app:
        gc.freeze()  # everything loaded so far moves to the permanent generation


def post_fork(server: object, worker: object) -> None:
    gc.enable()


# Only these proxies may set X-Forwarded-* (comma-separated; "*" trusts any).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Off unless asked for: Django logs each request once (kore.request: route, user, organisation,
# request id, status, duration, queries); a Gunicorn access line would be a second copy.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "") or None
errorlog = "-"
loglevel = env_choice(  # Gunicorn itself would take an unknown level as info
    "GUNICORN_LOGLEVEL", default="info", choices=("debug", "info", "warning", "error", "critical")
)
# Error lines (and access lines, when on) as Kore's JSON objects (time, level, logger, request_id,
# method, path, status, bytes, duration_ms, ...), or text with KORE_LOG_FORMAT=text; redacted.
logger_class = "kore.ops.gunicorn_logging.KoreGunicornLogger"

# Prometheus (kore.ops.metrics) in multiprocess mode: the workers write their values to files in
# PROMETHEUS_MULTIPROC_DIR and a scrape adds them up. The directory is emptied when the master
# starts (values of a previous run must not be added) and a dead worker's live gauges are dropped.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server: object) -> None:
    if _metrics_dir:
        os.makedirs(_metrics_dir, exist_ok=True)
        for name in os.listdir(_metrics_dir):
            if name.endswith(".db"):
                os.unlink(os.path.join(_metrics_dir, name))


def child_exit(server: object, worker: object) -> None:
    if _metrics_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined,no-untyped-call]
