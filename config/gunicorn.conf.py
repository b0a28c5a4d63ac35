"""Gunicorn settings, every one from the environment: ``gunicorn -c config/gunicorn.conf.py``."""

import math
import os


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
workers = int(os.environ.get("WEB_CONCURRENCY", max(3, 2 * _cpus() + 1)))
# gthread stays the default (make bench, 2 vCPUs, 200k rows, 2026-11-23, machine shared and loaded):
# on the list sync was +9 % at 10 connections and +19 % at 100, not >10 % at both levels, and in
# an earlier run -25 % / -67 %: within the noise, no clear win. On the trivial view sync fell to
# 58 % at 100 connections. gthread also keeps Nginx's upstream keepalive (sync closes every
# connection) and a slow client cannot hold a whole worker.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# Each thread can hold a PostgreSQL connection (CONN_MAX_AGE): workers x threads <= the pool.
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Recycle workers now and then (leaks); the jitter keeps them from restarting together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "100"))
# The heartbeat file on tmpfs: a slow or full disk must not get workers killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# Only these proxies may set X-Forwarded-* (comma-separated; "*" trusts any).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# One JSON object per request. Values are not JSON-escaped by Gunicorn; a path holding '"' is
# percent-encoded by clients, so in practice the line parses. %(D)s is microseconds.
access_log_format = (
    '{"time":"%(t)s","request_id":"%({x-request-id}i)s",'
    '"response_request_id":"%({x-request-id}o)s","remote":"%(h)s","method":"%(m)s",'
    '"path":"%(U)s","query":"%(q)s","status":%(s)s,"bytes":"%(B)s","duration_us":%(D)s,'
    '"user_agent":"%(a)s"}'
)
