"""Compose: both files against the Compose specification (check-jsonschema's bundled schema),
the stack's rules from the issue, the 512 MB budget, and `docker compose config` with a Docker
engine. Also: the example environment names every variable the stack reads."""

import re
from copy import deepcopy
from typing import Any

import pytest

from .helpers import ROOT, load_yaml, mebibytes, run, tool

PRODUCTION = ROOT / "production.yml"
LOWMEM = ROOT / "production.lowmem.yml"
EXAMPLE = ROOT / ".envs/.env.production.example"
ONE_SHOT = {"migrate", "migrate-staging"}


@pytest.fixture(scope="module")
def prod() -> dict[str, Any]:
    return load_yaml(PRODUCTION)


def merge(base: Any, override: Any) -> Any:
    """Compose's merge, as far as these files need it: mappings merge, the rest is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = deepcopy(base)
        for key, value in override.items():
            merged[key] = merge(base[key], value) if key in base else deepcopy(value)
        return merged
    return deepcopy(override)


def active(services: dict[str, Any], profiles: set[str]) -> dict[str, Any]:
    return {
        name: svc
        for name, svc in services.items()
        if not svc.get("profiles") or set(svc["profiles"]) & profiles
    }


@pytest.mark.parametrize("path", [PRODUCTION, LOWMEM], ids=lambda p: p.name)
def test_compose_spec_schema(path):
    run([tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)])


def test_only_nginx_publishes_ports_and_django_scales(prod):
    services = prod["services"]
    public = {
        name
        for name, svc in services.items()
        if "ports" in svc and "monitoring" not in svc.get("profiles", [])
    }
    assert public == {"nginx"}
    # The monitoring profile's Grafana listens on the host's loopback only (an SSH tunnel).
    for name, svc in services.items():
        if "monitoring" in svc.get("profiles", []):
            assert all(str(port).startswith("127.0.0.1:") for port in svc.get("ports", [])), name
    assert all("container_name" not in svc for svc in services.values())
    assert "django" in services
    assert "expose" in services["django"]


def test_services_restart_log_limit_and_network(prod):
    for name, svc in prod["services"].items():
        expected = "no" if name in ONE_SHOT else "unless-stopped"
        assert svc["restart"] == expected, name
        assert svc["logging"]["options"]["max-size"], name
        assert svc["deploy"]["resources"]["limits"]["memory"], name
        assert svc["networks"] == ["kore-prod-network"], name
    assert prod["networks"]["kore-prod-network"]["name"] == "kore-prod-network"
    assert set(prod["volumes"]) >= {"postgres_data", "redis_data", "media", "static"}


def test_migrate_runs_once_before_everything_that_uses_the_database(prod):
    services = prod["services"]
    assert services["migrate"]["command"] == ["migrate"]
    for name in ("django", "celeryworker", "celerybeat"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }, name
    assert services["django"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["nginx"]["depends_on"]["django"]["condition"] == "service_healthy"


def _check(svc: dict[str, Any]) -> tuple[Any, ...]:
    hc = svc["healthcheck"]
    return hc["interval"], hc["timeout"], hc.get("retries"), hc.get("start_period")


def test_healthchecks_follow_the_documents_table(prod):
    services = prod["services"]
    assert _check(services["nginx"]) == ("30s", "5s", 3, "10s")
    assert _check(services["django"]) == ("30s", "10s", 3, "40s")
    assert "/api/v1/health/live/" in " ".join(services["django"]["healthcheck"]["test"])
    assert services["postgres"]["healthcheck"]["interval"] == "10s"
    assert services["postgres"]["healthcheck"]["timeout"] == "5s"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    for redis in ("redis", "redis-cache"):
        assert services[redis]["healthcheck"]["test"] == ["CMD", "redis-cli", "PING"]
        assert services[redis]["healthcheck"]["interval"] == "10s"
        assert services[redis]["healthcheck"]["timeout"] == "5s"
    assert "health-worker" in services["celeryworker"]["healthcheck"]["test"]
    assert "health-beat" in services["celerybeat"]["healthcheck"]["test"]


@pytest.mark.parametrize(
    ("service", "url"),
    [
        ("prometheus", "http://localhost:9090/-/healthy"),
        ("grafana", "http://localhost:3000/api/health"),
    ],
)
def test_monitoring_services_have_a_healthcheck_with_the_images_own_wget(prod, service, url):
    # Both official images carry busybox's wget and neither carries curl.
    check = prod["services"][service]["healthcheck"]
    assert check["test"] == ["CMD", "wget", "-qO-", url]
    assert {"interval", "timeout", "retries"} <= check.keys()


def test_every_web_healthcheck_probes_liveness_not_readiness(prod):
    """A database outage must not mark every web container unhealthy (and get it replaced)."""
    merged = merge(prod, load_yaml(LOWMEM))
    entrypoint = (ROOT / "docker/production/django/entrypoint.sh").read_text()
    health_web = entrypoint.split("  health-web)", 1)[1].split(";;", 1)[0]
    probes = {}
    for name, svc in merged["services"].items():
        test = " ".join(svc.get("healthcheck", {}).get("test", []))
        if ":8000" in test:
            probes[name] = test
        elif "entrypoint.sh health-web" in test:  # bash's HTTP probe, no Python process
            probes[name] = health_web
    assert {"django", "django-staging"} <= set(probes)
    for name, probe in probes.items():
        assert "/api/v1/health/live/" in probe, name


def test_redis_broker_never_evicts_and_cache_does(prod):
    broker = " ".join(prod["services"]["redis"]["command"])
    cache = " ".join(prod["services"]["redis-cache"]["command"])
    assert "--appendonly yes" in broker
    assert "--maxmemory-policy noeviction" in broker
    assert "--maxmemory-policy allkeys-lru" in cache
    assert "--maxmemory" in cache
    example = EXAMPLE.read_text()
    assert "REDIS_URL=redis://redis-cache:6379/0" in example
    assert "CELERY_BROKER_URL=redis://redis:6379/0" in example


def test_one_production_template_with_cache_and_broker_on_different_redis():
    templates = sorted(p.name for p in (ROOT / ".envs").iterdir() if "production" in p.name)
    assert templates == [EXAMPLE.name]
    lines = [line for line in EXAMPLE.read_text().splitlines() if line and line[0] != "#"]
    values = dict(line.split("=", 1) for line in lines)
    assert values["REDIS_URL"].split("/")[2] != values["CELERY_BROKER_URL"].split("/")[2]


def test_pgbouncer_is_an_optional_profile_in_transaction_mode(prod):
    pgbouncer = prod["services"]["pgbouncer"]
    assert pgbouncer["profiles"] == ["pgbouncer"]
    assert pgbouncer["environment"]["POOL_MODE"] == "transaction"


def test_lowmem_profile_fits_512_mb(prod):
    merged = merge(prod, load_yaml(LOWMEM))
    services = active(merged["services"], {"pgbouncer"})
    assert "redis-cache" not in services
    assert "celerybeat" not in services
    long_running = {n: s for n, s in services.items() if n not in ONE_SHOT}
    limits = {
        n: mebibytes(s["deploy"]["resources"]["limits"]["memory"]) for n, s in long_running.items()
    }
    assert sum(limits.values()) <= 512, limits
    assert set(long_running) >= {"django", "django-staging", "celeryworker"}
    # Staging's worker does not fit: its tasks run in staging's web process (no broker, eager).
    assert "celeryworker-staging" not in long_running
    assert services["django-staging"]["environment"]["CELERY_BROKER_URL"] == ""
    redis = " ".join(services["redis"]["command"])
    assert "--maxmemory 12mb" in redis
    assert "--maxmemory-policy volatile-lru" in redis
    postgres = " ".join(services["postgres"]["command"])
    assert "shared_buffers=32MB" in postgres
    assert "work_mem=2MB" in postgres
    django, staging = services["django"]["environment"], services["django-staging"]["environment"]
    assert (django["WEB_CONCURRENCY"], staging["WEB_CONCURRENCY"]) == ("1", "1")
    assert django["GUNICORN_WORKER_CLASS"] == staging["GUNICORN_WORKER_CLASS"] == "gthread"
    for env in (django, staging):
        assert env["DISABLE_SERVER_SIDE_CURSORS"] == "True"
        assert "@pgbouncer:5432/" in env["DATABASE_URL"]
    # Separate Redis DB numbers per environment; migrations bypass PgBouncer (advisory lock).
    assert {django["REDIS_URL"], django["CELERY_BROKER_URL"]}.isdisjoint(
        {staging["REDIS_URL"], staging["CELERY_BROKER_URL"]}
    )
    # Workers: production's settings without the admin and schema; health without Python.
    for name in ("celeryworker", "celeryworker-staging"):
        worker = merged["services"][name]
        assert worker["environment"]["DJANGO_SETTINGS_MODULE"] == "config.settings.worker"
        assert "health-worker-file" in worker["healthcheck"]["test"]
    assert "@postgres:5432/" in services["migrate"]["environment"]["DATABASE_URL"]


def _names_read_by_the_stack() -> set[str]:
    names: set[str] = set()
    py = [ROOT / "config/settings/base.py", ROOT / "config/settings/production.py"]
    gunicorn = ROOT / "config/gunicorn.conf.py"
    if gunicorn.exists():
        py.append(gunicorn)
    pattern = re.compile(r'(?:env(?:\.\w+|_\w+)?|environ\.get|getenv)\(\s*"([A-Z][A-Z0-9_]*)"')
    for path in py:
        names |= set(pattern.findall(path.read_text()))
    entrypoint = (ROOT / "docker/production/django/entrypoint.sh").read_text()
    names |= set(re.findall(r"\$\{(KORE_[A-Z_]+|CELERY_[A-Z_]+|STATIC_ROOT)", entrypoint))
    for path in (PRODUCTION, LOWMEM):
        names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", path.read_text()))
    return names


def test_example_environment_is_complete():
    example = {
        line.split("=", 1)[0]
        for line in EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    }
    missing = _names_read_by_the_stack() - example
    assert not missing, f"add to {EXAMPLE.name}: {sorted(missing)}"
