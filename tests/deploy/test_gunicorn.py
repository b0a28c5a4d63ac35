"""config/gunicorn.conf.py with the production settings: --check-config, and preloaded workers."""

import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request

import psutil
import pytest

from kore.core.testing import wait_until

from .helpers import ROOT, clean_env, run, tool

CONF = ROOT / "config/gunicorn.conf.py"


def test_gunicorn_check_config():
    env = clean_env(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="kore.example.com",
        DATABASE_URL="postgres://kore:kore@127.0.0.1:1/kore",  # never connected to
        GUNICORN_BIND="127.0.0.1:0",
    )
    run(
        [tool("gunicorn"), "--check-config", "-c", str(CONF), "config.wsgi:application"],
        env=env,
    )


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("GUNICORN_PRELOAD", "ture", "expected one of true/false, 1/0, yes/no, on/off"),
        ("GUNICORN_THREADS", "four", "expected a whole number of at least 1"),
        ("GUNICORN_LOGLEVEL", "verbose", "expected one of debug, info, warning, error"),
    ],
)
def test_a_bad_gunicorn_value_stops_it_naming_the_variable(name, value, expected):
    env = clean_env(GUNICORN_BIND="127.0.0.1:0", **{name: value})
    proc = subprocess.run(
        [tool("gunicorn"), "--check-config", "-c", str(CONF), "config.wsgi:application"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert f"{name}={value!r} is not valid: {expected}" in proc.stdout + proc.stderr


def test_preloaded_workers_serve_after_the_fork():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = clean_env(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="False",
        DATABASE_URL="postgres://kore:kore@127.0.0.1:1/kore",  # the liveness view does no I/O
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_PRELOAD="true",
        WEB_CONCURRENCY="2",
    )
    master = subprocess.Popen(  # the project's own Gunicorn and config
        [tool("gunicorn"), "-c", str(CONF), "config.wsgi:application"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/v1/health/live/"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                    assert response.status == 200
                    break
            except OSError:
                assert master.poll() is None, "gunicorn exited"
                assert time.monotonic() < deadline, "no answer in 60 s"
                time.sleep(0.2)
        for _ in range(20):
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                assert response.status == 200
        # The first worker can answer before the master has forked the second.
        wait_until(lambda: len(psutil.Process(master.pid).children()) == 2, timeout=30,
                   what="Gunicorn's two workers")  # fmt: skip
    finally:
        master.terminate()
        master.wait(timeout=30)


def test_access_log_lines_carry_no_email_link_secret(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = clean_env(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="False",
        DATABASE_URL="postgres://kore:kore@127.0.0.1:1/kore",  # the link pages read no table
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
    )
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        master = subprocess.Popen(
            [tool("gunicorn"), "-c", str(CONF), "config.wsgi:application"],
            env=env,
            cwd=ROOT,
            stdout=stdout,
            stderr=stderr,
        )
    links = (
        "/password-reset/confirm/?uid=MQ&token=c8x-reset0secret0value",
        "/invitations/accept/?token=inv-invite0secret0value",
    )
    try:
        deadline = time.monotonic() + 60
        for link in links:
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{link}", timeout=5):
                        break
                except urllib.error.HTTPError:
                    break  # an answer: its line is what this test reads
                except OSError:
                    assert master.poll() is None, "gunicorn exited"
                    assert time.monotonic() < deadline, "no answer in 60 s"
                    time.sleep(0.2)
        while '"path": "/invitations/accept/"' not in out.read_text() + err.read_text():
            assert time.monotonic() < deadline, "no access line in 60 s"
            time.sleep(0.2)
    finally:
        master.terminate()
        master.wait(timeout=30)
    logged = out.read_text() + err.read_text()
    assert '"path": "/password-reset/confirm/"' in logged
    assert "secret0value" not in logged
