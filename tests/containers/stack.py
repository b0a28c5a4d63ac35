"""Kore's production Compose stack in the test engine: engine, stand-ins, images, up and down.

Everything runs through the scripts an operator would run (scripts/containers/*.sh, docker
compose with production.yml); this module only sequences them, times them and keeps what the
report needs (stand-ins, timings, memory per container).
"""

import json
import os
import secrets
import shlex
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts/containers"
# Two runs on one engine (two checkouts) keep apart by naming their project and image tag.
PROJECT = os.environ.get("KORE_CONTAINER_PROJECT", "kore-ctest")
TAG = os.environ.get("KORE_CONTAINER_TAG", "ctest")
HOST_NAME = "localhost"  # NGINX_SERVER_NAME and ALLOWED_HOSTS: the catch-all server drops others
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


class StackError(Exception):
    """A step of bringing the stack up failed; the message says which and shows its output."""


def run(
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    check: bool = True,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        list(args),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        input=input_text,
    )
    if check and proc.returncode != 0:
        raise StackError(
            f"{shlex.join(args)} exited {proc.returncode}\n"
            f"--- stdout (end)\n{proc.stdout[-6000:]}\n--- stderr (end)\n{proc.stderr[-6000:]}"
        )
    return proc


def wait_for(what: str, predicate: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    """Poll until ``predicate`` returns something truthy; fail saying ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pgbouncer_overrides(standins: list[str]) -> dict[str, str]:
    """PgBouncer's stand-in is Debian's 1.18, which cannot route protocol-level prepared
    statements in transaction mode (the real image's 1.25 can): Kore must not prepare there."""
    if any("pgbouncer" in line for line in standins):
        return {"DATABASE_PREPARED_STATEMENTS": "False"}
    return {}


def engine_env() -> dict[str, str]:
    """Start the test engine (installing it if needed); the environment that points at it."""
    proc = run([str(SCRIPTS / "engine.sh"), "up"], timeout=900)
    env = dict(os.environ)
    for line in proc.stdout.splitlines():
        # engine.sh prints `export NAME=value` lines (shell-quoted); PATH refers to "$PATH".
        name, _, value = line.removeprefix("export ").partition("=")
        value = value.replace('"$PATH"', env.get("PATH", ""))
        env[name] = shlex.split(value)[0] if value else ""
    return env


def env_file_text(overrides: dict[str, str]) -> str:
    """The documented production env file with the values this stack needs put in."""
    lines = []
    seen = set()
    for line in (ROOT / ".envs/.env.production.example").read_text().splitlines():
        name, sep, _ = line.partition("=")
        if sep and not line.startswith("#") and name in overrides:
            lines.append(f"{name}={overrides[name]}")
            seen.add(name)
        else:
            lines.append(line)
    lines += [f"{name}={value}" for name, value in overrides.items() if name not in seen]
    return "\n".join(lines) + "\n"


@dataclass
class Stack:
    """production.yml up in the test engine, reached from the host through Nginx."""

    env: dict[str, str]
    dir: Path
    http_port: int = field(default_factory=free_port)
    https_port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_hex(16))
    timings: dict[str, float] = field(default_factory=dict)
    standins: list[str] = field(default_factory=list)
    memory: list[str] = field(default_factory=list)
    project: str = PROJECT
    # Empty: production.yml and this stack's override.yml.
    compose_files: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def env_path(self) -> Path:
        return self.dir / "env"

    def timed(self, phase: str, fn: Callable[[], Any]) -> Any:
        started = time.monotonic()
        try:
            return fn()
        finally:
            self.timings[phase] = time.monotonic() - started

    def docker(self, *args: str, timeout: float = 600, check: bool = True) -> str:
        return run(["docker", *args], env=self.env, timeout=timeout, check=check).stdout

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> str:
        return run([*self.compose_args, *args], env=self.env, timeout=timeout, check=check).stdout

    @property
    def compose_args(self) -> list[str]:
        """`docker compose` with this stack's project, env file and Compose files."""
        files = self.compose_files or ["production.yml", str(self.dir / "override.yml")]
        args = [
            "docker",
            "compose",
            "--project-name",
            self.project,
            "--env-file",
            str(self.env_path),
        ]
        for name in files:
            args += ["-f", name]
        return args

    def manage(self, *args: str, env: dict[str, str] | None = None) -> str:
        """A manage.py command in the running web container."""
        extra = [f"--env={k}={v}" for k, v in (env or {}).items()]
        return self.compose("exec", "-T", *extra, "django", "python", "manage.py", *args)

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code)

    # --- bring up ---------------------------------------------------------------------------
    def build_standins(self) -> None:
        out = run([str(SCRIPTS / "standins.sh")], env=self.env, timeout=1800).stdout
        self.standins = [line for line in out.splitlines() if line.startswith("stand-in ")]

    def build_images(self) -> None:
        secret = ["--secret", f"id=ca-certificates,src={CA_BUNDLE}"] if CA_BUNDLE.exists() else []
        # PostgreSQL's apt repository is out of reach here, and the stand-in server is 15.
        pg = ["--build-arg", "PG_CLIENT_SOURCE=debian", "--build-arg", "PG_CLIENT_MAJOR=15"]
        self.build("docker/production/django/Dockerfile", ".", f"kore-django:{TAG}", *secret, *pg)
        self.build(
            "docker/production/nginx/Dockerfile", "docker/production/nginx", f"kore-nginx:{TAG}"
        )

    def build(self, dockerfile: str, context: str, tag: str, *options: str) -> None:
        """docker build with the host's network, the Dockerfile read from stdin.

        Its `# syntax=docker/dockerfile:1` line is left out: that frontend is an image on Docker
        Hub, out of reach here, so the engine's built-in Dockerfile frontend parses the rest.
        """
        text = (ROOT / dockerfile).read_text()
        lines = text.splitlines(keepends=True)
        if lines and lines[0].startswith("# syntax="):
            text = "".join(lines[1:])
        args = ["docker", "build", "--network", "host", *options, "-t", tag, "-f", "-", context]
        run(args, env=self.env, timeout=1800, input_text=text)

    def write_config(self) -> None:
        (self.dir / "certs").mkdir(exist_ok=True)
        db = f"postgres://kore:{self.password}@postgres:5432/kore"
        overrides = {
            "KORE_TAG": TAG,
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": HOST_NAME,
            "CSRF_TRUSTED_ORIGINS": f"http://{HOST_NAME}",
            "KORE_PUBLIC_URL": f"http://{HOST_NAME}",
            # Plain HTTP through Nginx on a loopback port: no TLS to redirect to.
            "SECURE_SSL_REDIRECT": "False",
            "POSTGRES_PASSWORD": self.password,
            "DATABASE_URL": db,
            "POSTGRES_SHARED_BUFFERS": "64MB",
            "WEB_CONCURRENCY": "2",
            "CELERY_WORKER_CONCURRENCY": "2",
            "NGINX_SERVER_NAME": HOST_NAME,
            "NGINX_PUBLISH_HTTP": f"127.0.0.1:{self.http_port}",
            "NGINX_PUBLISH_HTTPS": f"127.0.0.1:{self.https_port}",
            "NGINX_CERTS_DIR": str(self.dir / "certs"),
        } | pgbouncer_overrides(self.standins)
        self.env_path.write_text(env_file_text(overrides))
        # The Django containers read .envs/.env.production (env_file); point them at this one.
        services = ("migrate", "django", "celeryworker", "celerybeat")
        override: dict[str, Any] = {
            "services": {s: {"env_file": [str(self.env_path)]} for s in services},
            # production.yml names its network; two projects on one engine sharing it would
            # resolve each other's service names (django, postgres) on it.
            "networks": {"kore-prod-network": {"name": f"{self.project}-network"}},
        }
        (self.dir / "override.yml").write_text(json.dumps(override, indent=2))

    def up(self) -> None:
        self.compose("up", "--detach", "--no-build", timeout=600)
        wait_for("Nginx to answer /health", lambda: self.answers("/health"), 120)

    def answers(self, path: str) -> bool:
        try:
            return self.get(path).status_code == 200
        except requests.RequestException:
            return False

    # --- use --------------------------------------------------------------------------------
    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Host": HOST_NAME, **kwargs.pop("headers", {})}
        timeout = kwargs.pop("timeout", 15)
        return requests.request(
            method, self.base + path, headers=headers, timeout=timeout, **kwargs
        )

    def logs(self, service: str) -> str:
        return self.compose("logs", "--no-color", "--no-log-prefix", service, check=False)

    # --- down -------------------------------------------------------------------------------
    def record_memory(self) -> None:
        out = self.docker("stats", "--no-stream", "--format",
                          "{{.Name}}\t{{.MemUsage}}\t{{.MemPerc}}", check=False)  # fmt: skip
        self.memory = sorted(line for line in out.splitlines() if line.strip())

    def diagnostics(self) -> str:
        ps = self.compose("ps", "--all", check=False)
        return ps + "\n" + self.compose("logs", "--no-color", "--tail", "40", check=False)

    def down(self) -> None:
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "20", timeout=300,
                     check=False)  # fmt: skip
