"""Kore's native production stack, started for the end-to-end tests and always torn down.

Everything runs on 127.0.0.1 with free ports in one temporary directory: the stack's OWN
PostgreSQL (initdb + pg_ctl, as the `postgres` user when root, fsync off) and OWN Redis, never the
machine's shared servers on 5432/6379; then Debian's Nginx from the very template the image uses
(scripts/render-nginx.sh), two Gunicorn instances (config/gunicorn.conf.py, production settings),
a Celery worker and beat (database scheduler behind the single-beat lock).

Each long-running process gets its own session (process group = its pid), so it is stopped, or
killed for a fault test, by that id alone.
"""

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from celery import Celery

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
START_TIMEOUT = 45.0
DEMO_EMAIL = "demo@kore.local"
BEAT_LOCK_ID = 0x4B6F7265_42656174  # kore.ops.beat.BEAT_LOCK_ID


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (OSError, requests.RequestException, psycopg.Error) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def _binaries() -> dict[str, str]:
    """The server binaries, or a failure naming the Debian package to install."""
    missing = []
    found: dict[str, str] = {}
    pg_bins = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name or 0)
    )
    pg_bin = next((p for p in reversed(pg_bins) if (p / "initdb").exists()), None)
    if pg_bin is None:
        missing.append("postgresql (initdb, pg_ctl in /usr/lib/postgresql/*/bin)")
    else:
        found["initdb"], found["pg_ctl"] = str(pg_bin / "initdb"), str(pg_bin / "pg_ctl")
    for name, package in (
        ("redis-server", "redis-server"),
        ("nginx", "nginx"),
        ("envsubst", "gettext-base"),
    ):
        path = shutil.which(name) or (f"/usr/sbin/{name}" if name == "nginx" else None)
        if path and os.path.exists(path):
            found[name] = path
        else:
            missing.append(f"{package} ({name})")
    if missing:
        pytest.fail(
            "The native end-to-end tests need these Debian packages: "
            + ", ".join(missing)
            + ". Install them with apt-get install -y postgresql redis-server nginx gettext-base "
            "(make test does: scripts/install-debian-packages.sh)."
        )
    return found


def send_task(stack: "Stack", name: str, *args: object) -> None:
    """Publish a task to the stack's broker (its own Redis), as Kore's code would.

    The URL goes to the connection itself: Celery lets CELERY_BROKER_URL in the environment (the
    test run's shared broker) override an app's configured broker, never an explicit one.
    """
    url = f"redis://{HOST}:{stack.redis_port}/1"
    app = Celery("kore-e2e-client")
    app.conf.task_serializer = "json"
    try:
        with app.connection_for_write(url) as connection:
            assert connection.as_uri().endswith(f":{stack.redis_port}/1"), connection.as_uri()
            app.send_task(name, args=list(args), queue="celery", connection=connection)
    finally:
        app.close()


class Process:
    """One long-running process in its own session, its output in ``log``."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.args, self.env, self.log = name, args, env, log
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> "Process":
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal_group(self, sig: int) -> None:
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole process group (the master and its children) and reap it."""
        self.signal_group(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(timeout=10)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.signal_group(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        # Children that outlived their master (e.g. after a kill -9 of the master) go too.
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


class Stack:
    def __init__(self) -> None:
        self.bins = _binaries()
        self.dir = Path(tempfile.mkdtemp(prefix="kore-e2e-"))
        self.dir.chmod(0o755)  # the `postgres` user must reach its data directory
        self.logs = self.dir / "logs"
        self.logs.mkdir()
        self.as_root = os.geteuid() == 0
        self.pg_port, self.redis_port, self.nginx_port = free_port(), free_port(), free_port()
        self.web_ports = [free_port(), free_port()]
        self.pg_dir = self.dir / "pg"
        self.database_url = f"postgres://postgres@{HOST}:{self.pg_port}/kore"
        self.base = f"http://{HOST}:{self.nginx_port}"
        self.demo_password = secrets.token_urlsafe(16)
        self.redis: Process | None = None
        self.nginx: Process | None = None
        self.web: list[Process] = []
        self.worker: Process | None = None
        self.beat: Process | None = None
        self.access_token = ""
        self.secret_key = secrets.token_urlsafe(64)
        # Prometheus: each Gunicorn instance and the worker keep their own multiprocess directory.
        self.metrics_token = secrets.token_urlsafe(24)
        self.worker_metrics_port = free_port()
        self._worker_log_offset = 0

    # --- environment --------------------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        """The application's environment: production settings, nothing from the test run."""
        redis = f"redis://{HOST}:{self.redis_port}"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": self.secret_key,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "False",
            "DATABASE_URL": self.database_url,
            "DATABASE_CONNECT_TIMEOUT": "2",
            "REDIS_URL": f"{redis}/0",
            "CELERY_BROKER_URL": f"{redis}/1",
            "KORE_DATA_DIR": str(self.dir / "data"),
            "MEDIA_ROOT": str(self.dir / "data/media"),
            "STATIC_ROOT": str(self.dir / "static"),
            "KORE_ACCEL_REDIRECT": "True",
            "KORE_NUM_PROXIES": "1",
            "KORE_DEMO_PASSWORD": self.demo_password,
            # 1 MiB attachments: Nginx's body limit follows (plus 1 MiB), so 413 needs only 3 MiB.
            "KORE_ATTACHMENT_MAX_BYTES": str(2**20),
            # One person drives every request; Nginx's zones are what these tests exercise.
            "KORE_THROTTLE_USER": "1000000/hour",
            "KORE_THROTTLE_LOGIN_IP": "1000/min",
            "KORE_THROTTLE_LOGIN_EMAIL": "1000/min",
            # Redis redelivers an unacknowledged task after 2 x the hard limit (base settings):
            # 10 s here instead of 20 min, so a killed worker's task comes back within the test.
            "CELERY_TASK_SOFT_TIME_LIMIT": "4",
            "CELERY_TASK_TIME_LIMIT": "5",
            "CELERY_WORKER_CONCURRENCY": "2",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "4",
            # As in production: each request's kore.request line (the tests read them).
            "DJANGO_LOG_LEVEL": "INFO",
            "KORE_METRICS_TOKEN": self.metrics_token,
        }
        env.update(extra)
        return env

    # --- helpers ------------------------------------------------------------------------------
    def run(
        self, args: list[str], *, env: dict[str, str] | None = None, timeout: float = 120
    ) -> str:
        proc = subprocess.run(
            args,
            cwd=ROOT,
            env=env if env is not None else self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            pytest.fail(
                f"{' '.join(args)} exited {proc.returncode}\n{proc.stdout[-3000:]}\n"
                f"{proc.stderr[-3000:]}"
            )
        return proc.stdout

    def manage(self, *args: str, timeout: float = 180) -> str:
        return self.run([sys.executable, "manage.py", *args], timeout=timeout)

    def _as_postgres(self, args: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if self.as_root else args

    def sql(self, query: str, params: list[Any] | None = None, dbname: str = "kore") -> list[Any]:
        with psycopg.connect(
            f"postgres://postgres@{HOST}:{self.pg_port}/{dbname}",
            autocommit=True,
            connect_timeout=3,
        ) as conn:
            cur = conn.execute(query.encode(), params)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def get(self, path: str, timeout: float = 10, **kwargs: Any) -> requests.Response:
        return requests.get(self.base + path, timeout=timeout, **kwargs)

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def health(self) -> tuple[int, dict[str, Any]]:
        response = self.get("/api/v1/health/")
        return response.status_code, response.json()

    def healthy(self) -> bool:
        status, body = self.health()
        return status == 200 and body["status"] == "ok"

    def processes(self) -> list[Process]:
        found = [self.redis, self.nginx, *self.web, self.worker, self.beat]
        return [p for p in found if p is not None]

    def diagnostics(self) -> str:
        parts = [f"--- {p.name} ({p.log})\n{p.tail()}" for p in self.processes()]
        pg_log = self.logs / "postgres.log"
        if pg_log.exists():
            parts.append(f"--- postgres\n{pg_log.read_text(errors='replace')[-2000:]}")
        return "\n".join(parts)

    # --- PostgreSQL ---------------------------------------------------------------------------
    def pg_start(self) -> None:
        self.run(
            self._as_postgres(
                [
                    self.bins["pg_ctl"],
                    "-D",
                    str(self.pg_dir),
                    "-l",
                    str(self.logs / "postgres.log"),
                    "-w",
                    "-t",
                    "30",
                    "-o",
                    f"-p {self.pg_port} -k {self.pg_dir} -c listen_addresses={HOST} "
                    "-c fsync=off -c full_page_writes=off -c synchronous_commit=off",
                    "start",
                ]
            ),
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
        )

    def pg_stop(self, mode: str = "fast") -> None:
        self.run(
            self._as_postgres(
                [self.bins["pg_ctl"], "-D", str(self.pg_dir), "-m", mode, "-w", "stop"]
            ),
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
        )

    def pg_running(self) -> bool:
        return (self.pg_dir / "postmaster.pid").exists()

    def _pg_init(self) -> None:
        self.logs.chmod(0o777)  # postgres writes its log here
        self.pg_dir.mkdir(mode=0o700)
        if self.as_root:
            shutil.chown(self.pg_dir, "postgres", "postgres")
        self.run(
            self._as_postgres(
                [
                    self.bins["initdb"],
                    "-D",
                    str(self.pg_dir),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
        )
        self.pg_start()
        self.sql("CREATE DATABASE kore", dbname="postgres")

    # --- Redis --------------------------------------------------------------------------------
    def redis_start(self) -> None:
        (self.dir / "redis").mkdir(exist_ok=True)
        self.redis = Process(
            "redis",
            [
                self.bins["redis-server"],
                "--port",
                str(self.redis_port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir / "redis"),
            ],
            {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            self.logs / "redis.log",
        ).start()

        def pong() -> bool:
            with socket.create_connection((HOST, self.redis_port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")

        wait_for("Redis to answer PING", pong, 15)

    # --- Nginx, Gunicorn, Celery --------------------------------------------------------------
    def _nginx_start(self) -> None:
        out = self.dir / "nginx"
        env = self.env(
            NGINX_HTTP_PORT=str(self.nginx_port),
            NGINX_SERVER_NAME="localhost 127.0.0.1",
            NGINX_UPSTREAM_SERVERS=" ".join(f"{HOST}:{p}" for p in self.web_ports),
            NGINX_STATIC_DIR=str(self.dir / "static"),
            NGINX_MEDIA_DIR=str(self.dir / "data/media"),
            NGINX_WORKER_PROCESSES="2",
            NGINX_ERROR_LOG=str(self.logs / "nginx-error.log"),
            NGINX_ACCESS_LOG=str(self.logs / "nginx-access.log"),
        )
        conf = self.run([str(ROOT / "scripts/render-nginx.sh"), str(out)], env=env).strip()
        self.nginx = Process(
            "nginx",
            [self.bins["nginx"], "-p", str(out), "-c", conf, "-e", "stderr", "-g", "daemon off;"],
            env,
            self.logs / "nginx.log",
        ).start()
        wait_for("Nginx's own /health", lambda: self.get("/health").status_code == 200, 15)

    def web_start(self, index: int) -> Process:
        port = self.web_ports[index]
        process = Process(
            f"gunicorn-{index}",
            [
                str(VENV_BIN / "gunicorn"),
                "--config",
                "config/gunicorn.conf.py",
                "config.wsgi:application",
            ],
            self.env(
                GUNICORN_BIND=f"{HOST}:{port}",
                PROMETHEUS_MULTIPROC_DIR=str(self.dir / f"prometheus-web-{index}"),
            ),
            self.logs / f"gunicorn-{index}.log",
        ).start()
        if index < len(self.web):
            self.web[index] = process
        else:
            self.web.append(process)
        return process

    def web_wait(self, index: int) -> None:
        url = f"http://{HOST}:{self.web_ports[index]}/api/v1/health/live/"

        def live() -> bool:
            if not self.web[index].alive():
                pytest.fail(f"gunicorn-{index} exited:\n{self.web[index].tail()}")
            return requests.get(url, timeout=2).status_code == 200

        wait_for(f"gunicorn-{index} to answer", live, START_TIMEOUT)

    def worker_start(self) -> Process:
        log = self.logs / "worker.log"
        self._worker_log_offset = log.stat().st_size if log.exists() else 0
        self.worker = Process(
            "worker",
            [
                str(VENV_BIN / "celery"),
                "--app",
                "config.celery_app",
                "worker",
                "--include",
                "tests.e2e.tasks",
                "--hostname",
                f"e2e-{self.nginx_port}@%h",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            self.env(
                PROMETHEUS_MULTIPROC_DIR=str(self.dir / "prometheus-worker"),
                KORE_WORKER_METRICS_PORT=str(self.worker_metrics_port),
                KORE_WORKER_METRICS_ADDR=HOST,
                DJANGO_LOG_LEVEL="INFO",  # its JSON "task finished" lines
            ),
            self.logs / "worker.log",
        ).start()
        return self.worker

    def worker_wait(self) -> None:
        worker = self.worker
        assert worker is not None

        def ready() -> bool:
            if not worker.alive():
                pytest.fail(f"the Celery worker exited:\n{worker.tail()}")
            with worker.log.open("rb") as log:
                log.seek(self._worker_log_offset)
                return b" ready." in log.read()

        wait_for("the Celery worker to be ready", ready, START_TIMEOUT, interval=0.2)

    def _beat_start(self) -> None:
        self.beat = Process(
            "beat",
            [
                str(VENV_BIN / "celery"),
                "--app",
                "config.celery_app",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.dir / "celerybeat-schedule"),
                "--pidfile=",
            ],
            self.env(),
            self.logs / "beat.log",
        ).start()

    def beat_holds_lock(self) -> bool:
        rows = self.sql(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s AND objid = %s",
            [BEAT_LOCK_ID >> 32, BEAT_LOCK_ID & 0xFFFFFFFF],
        )
        return bool(rows[0][0])

    # --- whole stack --------------------------------------------------------------------------
    def up(self) -> None:
        (self.dir / "data/media").mkdir(parents=True)
        self._pg_init()
        self.redis_start()
        self.manage("migrate_locked", "--noinput", "-v", "0")
        self.manage("collectstatic", "--noinput", "-v", "0")
        self.manage("kore_demo")
        for index in range(len(self.web_ports)):
            self.web_start(index)
        self.worker_start()
        self._beat_start()
        self._nginx_start()
        for index in range(len(self.web_ports)):
            self.web_wait(index)
        self.worker_wait()
        wait_for("beat to take the single-beat lock", self.beat_holds_lock, START_TIMEOUT, 0.3)
        last: list[object] = []

        def healthy() -> bool:
            last[:] = [self.health()]
            return self.healthy()

        try:
            wait_for("health through Nginx to be ok", healthy, START_TIMEOUT, 0.3)
        except pytest.fail.Exception:
            pytest.fail(f"health through Nginx never became ok: {last}")
        login = requests.post(
            self.base + "/api/v1/auth/token/",
            json={"email": DEMO_EMAIL, "password": self.demo_password},
            timeout=10,
        )
        assert login.status_code == 200, login.text
        self.access_token = login.json()["access"]

    def down(self) -> None:
        for process in reversed(self.processes()):
            process.stop(signal.SIGQUIT if process.name == "nginx" else signal.SIGTERM)
        if self.pg_running():
            with contextlib.suppress(Exception, pytest.fail.Exception):
                self.pg_stop("immediate")
        if os.environ.get("KORE_E2E_KEEP"):
            print(f"e2e: kept {self.dir}", file=sys.stderr)  # noqa: T201
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def nginx_log(self) -> list[dict[str, Any]]:
        """Nginx's access log: only the requests Django did not answer (or not alone)."""
        path = self.logs / "nginx-access.log"
        lines = path.read_text().splitlines() if path.exists() else []
        return [json.loads(line) for line in lines if line.startswith("{")]

    def django_log(self, index: int) -> list[dict[str, Any]]:
        """The ``kore.request`` lines of Gunicorn instance ``index`` (one per request it
        answered), across its restarts (they append to the same log file)."""
        path = self.logs / f"gunicorn-{index}.log"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        entries = []
        for line in lines:
            if line.startswith("{") and '"kore.request"' in line:
                with contextlib.suppress(ValueError):
                    entries.append(json.loads(line))
        return [e for e in entries if e.get("logger") == "kore.request"]
