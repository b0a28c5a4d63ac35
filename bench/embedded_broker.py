"""The embedded runtime's broker choice, measured: ``.venv/bin/python bench/embedded_broker.py``.

For each server-less kombu transport (the filesystem one and, when SQLAlchemy is installed,
SQLAlchemy on a SQLite file) a real Celery worker (prefork, 2 processes, as `make run` starts it)
consumes TASKS small tasks sent from this process; each task appends a line to a file. Printed:
the time to send them all (what a web request pays per task), and the round trip from the first
send to the last line written. Both transports poll; the polling interval is the one `make run`
uses (0.1 s). Everything lives in a temporary directory under var/ (no fixed path).
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from celery import Celery

ROOT = Path(__file__).resolve().parents[1]
TASKS = int(os.environ.get("BENCH_BROKER_TASKS", "200"))
POLL = 0.1
try:  # SQLAlchemy is not a Kore dependency: `uv pip install sqlalchemy` to measure it too
    from kombu.transport import sqlalchemy

    sqlalchemy.Transport.polling_interval = POLL
    HAVE_SQLALCHEMY = True
except ImportError:
    HAVE_SQLALCHEMY = False


def _app(url: str, options: dict[str, object]) -> Celery:
    app = Celery("bench_broker", broker=url)
    app.conf.broker_transport_options = options
    app.conf.task_ignore_result = True

    @app.task(name="bench.touch")
    def touch(path: str, n: int) -> None:
        with open(path, "a", encoding="ascii") as f:
            f.write(f"{n}\n")

    return app


def _transports(work: Path) -> dict[str, tuple[str, dict[str, object]]]:
    fs = work / "fs"
    fs.mkdir(parents=True, exist_ok=True)
    return {
        "filesystem": (
            "filesystem://",
            {
                "data_folder_in": str(fs),
                "data_folder_out": str(fs),
                "control_folder": str(fs),
                "polling_interval": POLL,
            },
        ),
        "sqlalchemy+sqlite": (
            f"sqla+sqlite:///{work / 'broker.sqlite3'}",
            {},  # its options go to create_engine(): the interval is set on the class below
        ),
    }


def _lines(path: Path) -> int:
    try:
        return len(path.read_text(encoding="ascii").splitlines())
    except FileNotFoundError:
        return 0


def measure(name: str, url: str, options: dict[str, object], work: Path) -> tuple[float, float]:
    """Start a worker on the transport, send TASKS tasks; (send seconds, round-trip seconds)."""
    out = work / f"{name}.out"
    env = {**os.environ, "BENCH_BROKER": name, "BENCH_WORK": str(work)}
    worker = subprocess.Popen(  # noqa: S603 - our own argv
        [sys.executable, "-m", "celery", "-A", "bench.embedded_broker:worker_app", "worker",
         "--pool=prefork", "-c", "2", "--without-mingle", "--without-gossip", "-l", "WARNING"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        app = _app(url, options)
        app.send_task("bench.touch", args=[str(work / "warm"), 0])  # the worker is up and polling
        while _lines(work / "warm") < 1:
            time.sleep(0.05)
        started = time.perf_counter()
        for n in range(TASKS):
            app.send_task("bench.touch", args=[str(out), n])
        sent = time.perf_counter() - started
        while _lines(out) < TASKS:
            time.sleep(0.01)
        done = time.perf_counter() - started
        (work / "warm").unlink()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return sent, done


def _worker_app() -> Celery:
    work = Path(os.environ.get("BENCH_WORK", "."))
    url, options = _transports(work)[os.environ.get("BENCH_BROKER", "filesystem")]
    return _app(url, options)


if os.environ.get("BENCH_BROKER"):
    worker_app = _worker_app()


def main() -> None:
    (ROOT / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "var", prefix="bench-broker-") as tmp:
        for name in ("filesystem", "sqlalchemy+sqlite")[: 1 + HAVE_SQLALCHEMY]:
            work = Path(tmp) / name
            url, options = _transports(work)[name]
            sent, done = measure(name, url, options, work)
            print(  # noqa: T201
                f"{name:18} {TASKS} tasks: sent in {sent * 1000:.0f} ms "
                f"({sent / TASKS * 1000:.2f} ms each), all done {done:.2f} s after the first send"
            )


if __name__ == "__main__":
    main()
