"""`make run`: the embedded Kore on this machine, no server to install.

Prepares the SQLite database (migrate, the demo organisation) and the hashed static files, then
runs and watches two processes, as production does: Gunicorn (DEBUG off, config/gunicorn.conf.py)
and a Celery worker with beat as its thread, fed by the file broker in var/broker/. Ctrl-C (or
SIGTERM) stops both and everything they started; when either dies the other is stopped too, so
nothing is left behind half-running. All state is under KORE_DATA_DIR (var/): another checkout
on another PORT runs beside this one.
"""

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import psutil  # type: ignore[import-untyped]
from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from config.env import BASE_DIR

# Each process gets this long to finish in-flight work after Ctrl-C before it is killed. Celery's
# warm shutdown on a polling broker takes 6-9 s even when idle (its loop drains the broker for up
# to 2 s between checks, several times while it stops); a task still running then is killed, and
# the import reaper re-queues its job on the next start.
STOP_SECONDS = 15.0


def static_sources_digest() -> str:
    """A digest of every static file the finders see (path, size, modification time)."""
    digest = hashlib.sha256()
    for finder in get_finders():
        for path, storage in finder.list([]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def static_collect() -> None:
    """collectstatic, unless the sources are unchanged since the last collection: it hashes and
    compresses every file again each time (15 s here), most of a warm start."""
    root = Path(settings.STATIC_ROOT)
    stamp = root / ".sources-digest"
    digest = static_sources_digest()
    if (root / "staticfiles.json").exists() and stamp.exists() and stamp.read_text() == digest:
        return
    call_command("collectstatic", interactive=False, verbosity=0)
    stamp.write_text(digest)


def children_env(*, host: str, port: int) -> dict[str, str]:
    """The environment of the web and worker processes."""
    tmp = Path(settings.KORE_DATA_DIR) / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("KORE_PUBLIC_URL", f"http://{host}:{port}")
    env.setdefault("WEB_CONCURRENCY", "2")
    # Kore is loaded once, in the master, and the workers forked from it: on a laptop that is
    # several seconds of start-up saved per worker, and less memory (config/gunicorn.conf.py).
    env.setdefault("GUNICORN_PRELOAD", "true")
    env.setdefault("GUNICORN_GRACEFUL_TIMEOUT", "5")
    env.setdefault("KORE_LOG_FORMAT", "text")  # a terminal, not a log collector
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "GUNICORN_BIND": f"{host}:{port}",
        # Uploads spooled to disk and anything else temporary stay in this checkout's var/.
        "TMPDIR": str(tmp),
    }
    return env


def commands(*, port: int, concurrency: int) -> dict[str, list[str]]:
    """The two processes: Gunicorn, and a Celery worker with beat as its thread."""
    data = Path(settings.KORE_DATA_DIR)
    return {
        "web": [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
        "worker": [
            sys.executable, "-m", "celery", "-A", "config.celery_app", "worker", "--beat-thread",
            "--queues", "celery,imports", "--concurrency", str(concurrency),
            "--without-mingle", "--without-gossip", "--loglevel", "INFO",
            "--hostname", f"kore-{port}@%h",
            "--schedule-filename", str(data / "celerybeat-schedule"),
        ],
    }  # fmt: skip


def tree_stop(procs: dict[str, subprocess.Popen[bytes]], *, grace: float) -> None:
    """SIGTERM every process; after ``grace`` s, SIGKILL whatever is left of their trees."""
    tree: list[psutil.Process] = []
    for proc in procs.values():
        try:
            parent = psutil.Process(proc.pid)
            tree += [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(tree, timeout=grace)
    for left in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            left.kill()
    psutil.wait_procs(alive, timeout=grace)
    for proc in procs.values():
        proc.wait()


class Command(BaseCommand):
    help = "Serve Kore with Gunicorn and a Celery worker (SQLite, no Redis): what `make run` runs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--concurrency", type=int, default=2, help="worker processes")

    def handle(self, *args: Any, host: str, port: int, concurrency: int, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        static_collect()
        call_command("kore_demo")
        stopping: list[int] = []

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.append(signum)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        env = children_env(host=host, port=port)
        procs = {
            name: subprocess.Popen(argv, cwd=BASE_DIR, env=env)  # noqa: S603 - our own argv
            for name, argv in commands(port=port, concurrency=concurrency).items()
        }
        self.stdout.write(
            f"Kore at http://{host}:{port}/ — Gunicorn ({env['WEB_CONCURRENCY']} workers) and a "
            f"Celery worker with beat, state in {settings.KORE_DATA_DIR}. Ctrl-C stops them."
        )
        dead = ""
        while not stopping and not dead:
            time.sleep(0.2)
            dead = next((name for name, p in procs.items() if p.poll() is not None), "")
        tree_stop(procs, grace=STOP_SECONDS)
        if dead and not stopping:
            self.stderr.write(f"run_embedded: the {dead} process exited; everything stopped.")
            sys.exit(1)
