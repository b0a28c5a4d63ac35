"""Selectors for the operator status page: each section is computed on its own and reports
``unavailable`` instead of failing, so the page still renders while a dependency is down."""

import json
import os
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import redis
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from .health import run_checks

SERVICE_NAMES = {
    "database": "PostgreSQL",
    "cache": "Redis (cache)",
    "broker": "Redis (broker)",
    "storage": "Storage",
}
WORKERS_CACHE_SECONDS = 30.0
PING_TIMEOUT = 1.0
_workers_cache: dict[str, Any] = {}


def system_summary() -> dict[str, Any]:
    """CPU, memory and disk of the host (or container) Kore runs on, and uptimes."""
    memory = psutil.virtual_memory()
    data_dir = Path(settings.KORE_DATA_DIR)
    disk = psutil.disk_usage(str(data_dir if data_dir.exists() else Path("/")))
    me = psutil.Process()
    parent = me.parent()
    master = parent if parent is not None and parent.pid != 1 else me
    now = time.time()
    return {
        "cpu_percent": psutil.cpu_percent(interval=0.1),
        "cpu_count": psutil.cpu_count() or 1,
        "load": os.getloadavg(),
        "memory_used": memory.total - memory.available,
        "memory_total": memory.total,
        "memory_percent": memory.percent,
        "disk_used": disk.used,
        "disk_total": disk.total,
        "disk_percent": disk.percent,
        "host_uptime": timedelta(seconds=int(now - psutil.boot_time())),
        "kore_uptime": timedelta(seconds=int(now - master.create_time())),
    }


def services_summary() -> tuple[str, list[dict[str, Any]]]:
    """Each dependency's health and latency (kore.ops.health), in display order."""
    overall, results = run_checks()
    rows = [
        {
            "name": SERVICE_NAMES.get(name, name),
            "status": result.status,
            "up": result.status in ("ok", "skipped"),
            "latency_ms": result.latency_ms,
            "detail": result.detail,
        }
        for name, result in results.items()
    ]
    return overall, rows


def deploy_history(*, limit: int = 5) -> list[dict[str, Any]]:
    """The newest deploys first, as scripts/deploy.sh records them (JSON lines)."""
    path = Path(settings.KORE_DEPLOY_LOG)
    try:
        with path.open(encoding="utf-8") as log:
            lines = deque(log, maxlen=limit)
    except OSError:
        return []
    deploys = []
    for line in reversed(lines):
        try:
            deploys.append(json.loads(line))
        except ValueError:
            continue
    return deploys


def traffic_last_hour() -> dict[str, Any]:
    """Requests and 5xx responses over the last 60 minutes (kore.ops.recorder's table)."""
    from .models import RequestMinute

    since = timezone.now() - timedelta(minutes=60)
    totals = RequestMinute.objects.filter(minute__gte=since).aggregate(
        requests=Sum("requests"), errors=Sum("errors")
    )
    requests, errors = totals["requests"] or 0, totals["errors"] or 0
    return {
        "requests": requests,
        "errors": errors,
        "per_minute": round(requests / 60, 2),
        "error_percent": round(100 * errors / requests, 3) if requests else 0.0,
    }


def queues_summary() -> dict[str, Any]:
    """Messages waiting in each Celery queue (Redis LLEN) and the workers answering a ping."""
    url = settings.CELERY_BROKER_URL
    if not url or settings.CELERY_TASK_ALWAYS_EAGER:
        return {"mode": "eager", "queues": [], "workers": None}
    queues = sorted({settings.CELERY_TASK_DEFAULT_QUEUE, *_routed_queues()})
    if not url.startswith(("redis://", "rediss://")):  # the embedded runtime's file broker
        return {"mode": "broker", "queues": _kombu_lengths(queues), "workers": workers_count(url)}
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        lengths = [{"name": q, "length": int(client.llen(q))} for q in queues]  # type: ignore[arg-type]
    except redis.RedisError:
        return {"mode": "unavailable", "queues": [], "workers": None}
    finally:
        client.close()
    return {"mode": "broker", "queues": lengths, "workers": workers_count(url)}


def _kombu_lengths(queues: list[str]) -> list[dict[str, Any]]:
    """Messages waiting in each queue, asked through kombu (any transport)."""
    from celery import current_app as app  # Kore's app, loaded with Django (config/__init__)

    with app.connection_for_read() as connection:
        channel: Any = connection.default_channel  # a virtual channel: queue_declare answers
        return [
            {"name": q, "length": int(channel.queue_declare(q, passive=True).message_count)}
            for q in queues
        ]


def _routed_queues() -> set[str]:
    return {
        str(route["queue"])
        for route in settings.CELERY_TASK_ROUTES.values()
        if isinstance(route, dict) and "queue" in route
    }


def workers_count(url: str) -> int | None:
    """How many workers answer a ping within PING_TIMEOUT, cached WORKERS_CACHE_SECONDS."""
    cached = _workers_cache.get(url)
    if cached and time.monotonic() - cached[0] < WORKERS_CACHE_SECONDS:
        return int(cached[1])
    from celery import current_app as app  # Kore's app, loaded with Django (config/__init__)

    try:
        with app.connection_for_write(url) as connection:
            connection.ensure_connection(max_retries=1, timeout=int(PING_TIMEOUT))
            replies = app.control.ping(timeout=PING_TIMEOUT, connection=connection) or []
    except Exception:
        return None
    _workers_cache[url] = (time.monotonic(), len(replies))
    return len(replies)


def backup_last_good_summary() -> dict[str, Any]:
    """The last good backup and its age, or ``state`` ``none`` while there is none yet."""
    try:
        from kore.backups.selectors import (
            backup_last_good,  # type: ignore[import-not-found,unused-ignore]
        )
    except ImportError:
        return {"state": "none"}
    try:
        backup = backup_last_good()
    except Exception:
        return {"state": "unavailable"}
    if backup is None or getattr(backup, "finished_at", None) is None:
        return {"state": "none"}
    finished = backup.finished_at
    assert finished is not None
    age = (datetime.now(tz=UTC) - finished).total_seconds()
    return {
        "state": "ok",
        "finished_at": finished,
        "age_seconds": max(0.0, age),
        "age": timedelta(seconds=int(max(0.0, age))),
        "size_bytes": getattr(backup, "size_bytes", None),
        "verified_at": getattr(backup, "verified_at", None),
        "status": getattr(backup, "status", ""),
    }


def recent_problems(*, limit: int = 20) -> list[Any]:
    from .models import ProblemLog

    return list(ProblemLog.objects.all()[:limit])


def status_report() -> dict[str, Any]:
    """Everything the status page shows; a section that fails says ``unavailable``."""
    from . import recorder

    recorder.flush()  # this process's last minutes, so the page is current
    report: dict[str, Any] = {"version": settings.KORE_VERSION, "now": timezone.now()}
    sections: dict[str, Callable[[], Any]] = {
        "system": system_summary,
        "traffic": traffic_last_hour,
        "queues": queues_summary,
        "backup": backup_last_good_summary,
        "deploys": deploy_history,
        "problems": recent_problems,
    }
    for name, compute in sections.items():
        try:
            report[name] = compute()
        except Exception:
            report[name] = None
    report["overall"], report["services"] = services_summary()
    return report
