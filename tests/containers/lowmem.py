"""The 512 MB profile (production.yml + production.lowmem.yml) in the test engine: production and
staging up together under the profile's memory limits, with what a run needs to report on them
(memory per container from its cgroup, OOM kills, restarts) and users to load it with.

The images are the ones stack.Stack builds; only the Compose files, the env files and the
published ports differ.
"""

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .stack import (
    HOST_NAME,
    PROJECT,
    TAG,
    Stack,
    env_file_text,
    free_port,
    pgbouncer_overrides,
    run,
)

LOWMEM_PROJECT = f"{PROJECT}-512"
STAGING_HOST = "staging.localhost"
CGROUP_ROOT = Path("/sys/fs/cgroup/memory")
MIB = 1024 * 1024
# The limits Docker gives the cgroups of a profile's long-running containers must add up to this.
BUDGET_MIB = 512


@dataclass
class Usage:
    """One container's memory as its cgroup (v1) tells it."""

    name: str
    limit: int  # bytes
    peak: int  # memory.max_usage_in_bytes: the most it was charged, page cache included
    oom_kills: int  # memory.oom_control's oom_kill: processes the kernel killed in this cgroup
    restarts: int
    oom_killed: bool  # docker inspect: the container's main process was OOM-killed
    rss_peak: int = 0  # the most charged to it minus page cache, sampled during the run


@dataclass
class LowmemStack(Stack):
    """production.yml + production.lowmem.yml (PgBouncer profile): production and staging."""

    staging_port: int = field(default_factory=free_port)
    staging_password: str = field(default_factory=lambda: secrets.token_hex(16))
    rss_peaks: dict[str, int] = field(default_factory=dict)
    extra_files: list[str] = field(default_factory=list)  # more -f files (bench: other limits)
    _sampler: threading.Thread | None = None
    _sampling: threading.Event = field(default_factory=threading.Event)

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> str:
        base = ["docker", "compose", "--project-name", LOWMEM_PROJECT, "--profile", "pgbouncer",
                "--env-file", str(self.env_path), "-f", "production.yml",
                "-f", "production.lowmem.yml", "-f", str(self.dir / "override.yml")]  # fmt: skip
        base += [option for path in self.extra_files for option in ("-f", path)]
        return run([*base, *args], env=self.env, timeout=timeout, check=check).stdout

    def down(self) -> None:
        """Everything of the project, services of inactive profiles and volumes included."""
        self.compose("--profile", "staging-worker", "--profile", "separate-beat", "down",
                     "--volumes", "--remove-orphans", "--timeout", "20", timeout=300,
                     check=False)  # fmt: skip

    def manage(self, *args: str, env: dict[str, str] | None = None) -> str:
        """A manage.py command in a one-off container of the migrate service (160 MiB, run once).

        Not `exec` in the web container: a second Kore process there does not fit its limit (the
        kernel kills one of the two).
        """
        extra = [f"--env={k}={v}" for k, v in (env or {}).items()]
        return self.compose("run", "--rm", "--no-deps", "-T", *extra, "migrate", "manage", *args)

    @property
    def staging_base(self) -> str:
        return f"http://127.0.0.1:{self.staging_port}"

    def write_config(self) -> None:
        (self.dir / "certs").mkdir(exist_ok=True)
        overrides = {
            "KORE_TAG": TAG,
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": HOST_NAME,
            "CSRF_TRUSTED_ORIGINS": f"http://{HOST_NAME}",
            "KORE_PUBLIC_URL": f"http://{HOST_NAME}",
            "SECURE_SSL_REDIRECT": "False",
            "POSTGRES_PASSWORD": self.password,
            "DATABASE_URL": f"postgres://kore:{self.password}@postgres:5432/kore",
            "NGINX_SERVER_NAME": HOST_NAME,
            "NGINX_PUBLISH_HTTP": f"127.0.0.1:{self.http_port}",
            "NGINX_PUBLISH_HTTPS": f"127.0.0.1:{self.https_port}",
            "NGINX_CERTS_DIR": str(self.dir / "certs"),
            "NGINX_STAGING_SERVER_NAME": STAGING_HOST,
            "NGINX_STAGING_PORT": f"127.0.0.1:{self.staging_port}",
            # The load comes from one address (the engine's bridge): Nginx's per-client limits
            # would answer 429 to a hundred users behind it.
            "NGINX_RATE_LIMIT_ALLOWLIST": "172.16.0.0/12 192.168.0.0/16 10.0.0.0/8",
        }
        overrides |= pgbouncer_overrides(self.standins)
        self.env_path.write_text(env_file_text(overrides))
        staging = {
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": STAGING_HOST,
            "CSRF_TRUSTED_ORIGINS": f"http://{STAGING_HOST}",
            "KORE_PUBLIC_URL": f"http://{STAGING_HOST}",
            "SECURE_SSL_REDIRECT": "False",
            "KORE_BACKUP_ENVIRONMENT": "staging",
        }
        staging_env = self.dir / "env.staging"
        staging_env.write_text(env_file_text(staging))
        production = ("migrate", "django", "celeryworker")
        staging_services = ("migrate-staging", "django-staging", "celeryworker-staging")
        services = {s: {"env_file": [str(self.env_path)]} for s in production}
        services |= {s: {"env_file": [str(staging_env)]} for s in staging_services}
        (self.dir / "override.yml").write_text(json.dumps({"services": services}, indent=2))

    def up(self) -> None:
        super().up()
        self.wait_staging()

    def wait_staging(self) -> None:
        from .stack import wait_for

        def answers() -> bool:
            import requests

            try:
                response = requests.get(
                    f"{self.staging_base}/api/v1/health/",
                    headers={"Host": STAGING_HOST}, timeout=10,
                )  # fmt: skip
            except requests.RequestException:
                return False
            return response.status_code == 200

        wait_for("staging's Nginx to answer its health check", answers, 240, interval=2)

    # --- memory -----------------------------------------------------------------------------
    def containers(self) -> dict[str, dict[str, Any]]:
        """Running and stopped containers of the profile: name -> docker inspect."""
        ids = self.compose("ps", "--all", "--quiet").split()
        inspected = json.loads(self.docker("inspect", *ids)) if ids else []
        return {c["Config"]["Labels"]["com.docker.compose.service"]: c for c in inspected}

    def long_running(self) -> dict[str, dict[str, Any]]:
        return {n: c for n, c in self.containers().items() if not n.startswith("migrate")}

    @staticmethod
    def cgroup(container: dict[str, Any]) -> Path:
        parent = container["HostConfig"]["CgroupParent"] or "docker"
        path = CGROUP_ROOT / str(parent).strip("/") / str(container["Id"])
        if not path.is_dir():  # the test engine nests its cgroups under its own parent
            matches = list(CGROUP_ROOT.glob(f"**/{container['Id']}"))
            if not matches:
                raise AssertionError(f"no memory cgroup for {container['Name']}")
            path = matches[0]
        return path

    @classmethod
    def rss(cls, container: dict[str, Any]) -> int:
        """Bytes charged to the container minus its page cache (what `docker stats` shows)."""
        path = cls.cgroup(container)
        usage = int((path / "memory.usage_in_bytes").read_text())
        stat = dict(line.split() for line in (path / "memory.stat").read_text().splitlines())
        return usage - int(stat.get("total_inactive_file", 0))

    def reset_peaks(self) -> None:
        """Forget the peaks so far (set-up, seeding): the run's own are what the report shows."""
        for container in self.long_running().values():
            (self.cgroup(container) / "memory.max_usage_in_bytes").write_text("0")
        self.rss_peaks.clear()

    def start_sampling(self, interval: float = 0.5) -> None:
        containers = self.long_running()
        self._sampling.clear()

        def sample() -> None:
            while not self._sampling.wait(interval):
                for name, container in containers.items():
                    try:
                        value = self.rss(container)
                    except (OSError, AssertionError):
                        continue  # restarting: its cgroup is being replaced
                    self.rss_peaks[name] = max(self.rss_peaks.get(name, 0), value)

        self._sampler = threading.Thread(target=sample, daemon=True)
        self._sampler.start()

    def stop_sampling(self) -> None:
        self._sampling.set()
        if self._sampler is not None:
            self._sampler.join(10)

    def usage(self) -> list[Usage]:
        rows = []
        for name, c in sorted(self.long_running().items()):
            path = self.cgroup(c)
            control = (path / "memory.oom_control").read_text().splitlines()
            oom = dict(line.split() for line in control)
            rows.append(Usage(
                name=name,
                limit=int(c["HostConfig"]["Memory"]),
                peak=int((path / "memory.max_usage_in_bytes").read_text()),
                oom_kills=int(oom.get("oom_kill", 0)),
                restarts=int(c["RestartCount"]),
                oom_killed=bool(c["State"]["OOMKilled"]),
                rss_peak=self.rss_peaks.get(name, 0),
            ))  # fmt: skip
        return rows


def usage_table(rows: list[Usage]) -> list[str]:
    lines = [f"{'container':<22} {'limit':>6} {'peak rss':>9} {'peak+cache':>11} {'oom kills':>9} "
             f"{'restarts':>8}"]  # fmt: skip
    for r in rows:
        lines.append(
            f"{r.name:<22} {r.limit / MIB:>5.0f}M {r.rss_peak / MIB:>8.1f}M {r.peak / MIB:>10.1f}M "
            f"{r.oom_kills:>9} {r.restarts:>8}"
        )
    total = sum(r.limit for r in rows) / MIB
    lines.append(f"{'total':<22} {total:>5.0f}M {sum(r.rss_peak for r in rows) / MIB:>8.1f}M")
    return lines


def elapsed(started: float) -> float:
    return time.monotonic() - started
