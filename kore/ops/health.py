"""Readiness checks: database, cache, broker, storage. Each is bounded to CHECK_TIMEOUT seconds.

Checks run in parallel threads so one hung dependency cannot hold the probe longer than the
timeout. Bodies carry no hostnames, credentials or exception text, only a status and latency.
"""

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Literal

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

CHECK_TIMEOUT = 2.0
Status = Literal["ok", "error", "skipped", "timeout"]

# Once every migration is applied in this process it stays applied; don't re-plan each probe.
_migrations_applied = False


@dataclass(frozen=True)
class CheckResult:
    status: Status
    latency_ms: float
    detail: str = ""


def check_database() -> str:
    global _migrations_applied
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        # SET LOCAL only lasts inside a transaction (in autocommit it is silently a no-op).
        with transaction.atomic(using=DEFAULT_DB_ALIAS), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL statement_timeout = %s", [int(CHECK_TIMEOUT * 1000)])
            cursor.execute("SELECT 1")
        if not _migrations_applied:
            executor = MigrationExecutor(connection)
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
            if plan:
                return "migrations_pending"
            _migrations_applied = True
        return ""
    finally:
        connection.close()  # this runs in a worker thread: never leave its connection behind


def check_cache() -> str:
    backend = str(settings.CACHES["default"]["BACKEND"])
    if backend.endswith("LocMemCache"):
        return "skipped"
    if not backend.startswith("django_redis."):  # the embedded runtime's file cache
        key = f"kore:health:{uuid.uuid4().hex}"
        cache.set(key, "1", timeout=10)
        ok = cache.get(key) == "1"
        cache.delete(key)
        return "" if ok else "read_back_failed"
    key = f"kore:health:{uuid.uuid4().hex}"
    client = cache.client.get_client(write=True)  # type: ignore[attr-defined]
    client.set(key, b"1", ex=10)  # raw client: django-redis would swallow the outage
    ok = client.get(key) == b"1"
    client.delete(key)
    return "" if ok else "read_back_failed"


def check_broker() -> str:
    url = settings.CELERY_BROKER_URL
    if not url:
        return "skipped"
    if not url.startswith(("redis://", "rediss://")):
        return "skipped"
    client = redis.Redis.from_url(
        url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
    )
    try:
        client.ping()
    finally:
        client.close()
    return ""


def check_storage() -> str:
    name = default_storage.save(f"health/{uuid.uuid4().hex}.txt", ContentFile(b"ok"))
    default_storage.delete(name)
    return ""


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "storage": check_storage,
}
# Losing these makes Kore slower or delays jobs; losing the others stops it.
DEGRADING = frozenset({"cache", "broker"})


def _timed(check: Callable[[], str]) -> CheckResult:
    started = time.perf_counter()
    try:
        outcome = check()
    except Exception as exc:  # any failure is reported as a status, never as a 500
        return CheckResult("error", _ms(started), type(exc).__name__)
    if outcome == "skipped":
        return CheckResult("skipped", 0.0)
    return CheckResult("error" if outcome else "ok", _ms(started), outcome)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def run_checks() -> tuple[str, dict[str, CheckResult]]:
    """Run every check in parallel; overall ``ok``, ``degraded`` or ``error``."""
    pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="health")
    futures = {name: pool.submit(_timed, check) for name, check in CHECKS.items()}
    deadline = time.monotonic() + CHECK_TIMEOUT
    results: dict[str, CheckResult] = {}
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            results[name] = CheckResult("timeout", CHECK_TIMEOUT * 1000)
    pool.shutdown(wait=False, cancel_futures=True)
    failed = {name for name, r in results.items() if r.status in ("error", "timeout")}
    overall = "ok" if not failed else "degraded" if failed <= DEGRADING else "error"
    return overall, results


def health_report() -> tuple[int, dict[str, object]]:
    overall, results = run_checks()
    body = {
        "status": overall,
        "timestamp": timezone.now().isoformat(),
        "version": settings.KORE_VERSION,
        "checks": {
            name: {"status": r.status, "latency_ms": r.latency_ms}
            | ({"detail": r.detail} if r.detail else {})
            for name, r in results.items()
        },
    }
    return (503 if overall == "error" else 200), body
