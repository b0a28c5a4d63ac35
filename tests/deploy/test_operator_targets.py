"""The operator's make targets: listed by `make help`; the Docker ones refuse clearly without an
engine; the others work here (migrate + monitor on a throwaway SQLite database, healthcheck,
makemigrations --check). And scripts/deploy.sh without Docker: a clear message, nothing done."""

import os
import socket
import subprocess
from pathlib import Path

import pytest

from .helpers import ROOT

OPERATOR_TARGETS = [
    "dev",
    "dev-down",
    "dev-logs",
    "dev-shell",
    "migrate",
    "makemigrations",
    "superuser",
    "test",
    "test-fast",
    "lint",
    "format",
    "check",
    "healthcheck",
    "monitor",
    "db-backup",
    "db-restore",
    "prod-logs",
    "staging-logs",
    "build",
    "ps",
    "clean",
    "deploy",
]
DOCKER_TARGETS = ["dev", "dev-down", "dev-logs", "prod-logs", "staging-logs", "build", "ps"]


def _make(
    *args: str, env: dict[str, str] | None = None, timeout: int = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env=env or os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _no_docker_env(tmp_path: Path) -> dict[str, str]:
    """An environment where `docker info` fails, as on a machine without an engine."""
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    docker = fake / "docker"
    docker.write_text('#!/bin/sh\necho "Cannot connect to the Docker daemon" >&2\nexit 1\n')
    docker.chmod(0o755)
    return os.environ | {"PATH": f"{fake}:{os.environ.get('PATH', '/usr/bin:/bin')}"}


def test_help_lists_every_operator_target():
    result = _make("help")
    assert result.returncode == 0, result.stderr
    listed = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("  make ")}
    missing = set(OPERATOR_TARGETS) - listed
    assert not missing, f"make help does not list {sorted(missing)}"


@pytest.mark.parametrize("target", DOCKER_TARGETS)
def test_docker_targets_say_no_engine_answers_and_fail(target, tmp_path):
    result = _make(target, env=_no_docker_env(tmp_path), timeout=60)
    assert result.returncode != 0
    assert f"make {target}: no Docker engine answers 'docker info'" in result.stderr


def test_deploy_without_docker_changes_nothing_and_says_why(tmp_path):
    result = _make("deploy", "ENV=staging", env=_no_docker_env(tmp_path), timeout=60)
    assert result.returncode != 0
    assert "deploy: no Docker engine answers 'docker info'" in result.stderr
    assert "nothing was changed" in result.stderr


def test_deploy_needs_an_environment(tmp_path):
    result = _make("deploy", env=_no_docker_env(tmp_path))
    assert result.returncode == 2
    assert "usage: make deploy ENV=production|staging" in result.stderr
    direct = subprocess.run(
        [str(ROOT / "scripts/deploy.sh"), "qa"], capture_output=True, text=True, check=False
    )
    assert direct.returncode == 2
    assert "usage: scripts/deploy.sh <production|staging>" in direct.stderr


def test_migrate_then_monitor_on_a_fresh_database(tmp_path):
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'kore.sqlite3'}",
        "KORE_DATA_DIR": str(tmp_path),
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
    }
    migrated = _make("migrate", env=env, timeout=300)
    assert migrated.returncode == 0, migrated.stdout[-2000:] + migrated.stderr[-2000:]
    monitor = _make("monitor", env=env)
    assert monitor.returncode == 0, monitor.stderr[-2000:]
    out = monitor.stdout
    assert "Kore " in out
    assert "PostgreSQL" in out or "database" in out.lower()
    assert "last good backup: none yet" in out
    assert "queues: celery 0, imports 0" in out  # the embedded file broker, no worker


def test_makemigrations_check_finds_nothing_missing():
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = _make("makemigrations", "ARGS=--check --dry-run", env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "No changes detected" in result.stdout


def test_healthcheck_reports_a_server_that_does_not_answer():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = _make("healthcheck", f"HEALTH_URL=http://127.0.0.1:{port}/api/v1/health/")
    assert result.returncode != 0
    assert f"healthcheck: http://127.0.0.1:{port}/api/v1/health/ does not answer" in result.stderr
