"""A bounded request loop through Nginx, as a user would notice an outage: every request that does
not come back 2xx (or does not come back) counts as failed, with what it got."""

import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from .stack import Stack, run


@dataclass
class Loop:
    """GETs ``paths`` in turn from ``workers`` threads, ``pause`` s apart, until stopped or
    ``limit`` seconds have passed (the bound: a loop never outlives its test). With ``body``
    (request number -> JSON) it POSTs that instead."""

    stack: Stack
    paths: list[str]
    headers: dict[str, str] = field(default_factory=dict)
    workers: int = 2
    pause: float = 0.05
    limit: float = 300
    body: Callable[[int], dict[str, object]] | None = None
    sent: int = 0
    failed: int = 0
    # Requests answered after mark() (after the fault): in flight across it, or sent after it.
    sent_after: int = 0
    marked: float = float("inf")
    failures: list[str] = field(default_factory=list)
    duration: float = 0.0
    slowest: float = 0.0
    # (when it was sent, seconds until answered) of every request, in the order answered.
    timings: list[tuple[float, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)
    _started: float = 0.0

    def __enter__(self) -> "Loop":
        self._started = time.monotonic()
        for n in range(self.workers):
            thread = threading.Thread(target=self._run, args=(n,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self.duration = time.monotonic() - self._started

    def mark(self) -> None:
        self.marked = time.monotonic()

    def _run(self, n: int) -> None:
        deadline = self._started + self.limit
        i = n
        while not self._stop.is_set() and time.monotonic() < deadline:
            path = self.paths[i % len(self.paths)]
            i += 1
            began = time.monotonic()
            method = "GET" if self.body is None else "POST"
            try:
                json = None if self.body is None else self.body(i)
                response = self.stack.request(method, path, headers=self.headers, json=json,
                                              timeout=30)  # fmt: skip
                ok, what = response.ok, f"{response.status_code} {response.text[:120]!r}"
            except requests.RequestException as error:
                ok, what = False, f"{type(error).__name__}: {error}"[:200]
            with self._lock:
                self.slowest = max(self.slowest, time.monotonic() - began)
                self.timings.append((began, time.monotonic() - began))
                self.sent += 1
                self.sent_after += time.monotonic() >= self.marked
                if not ok:
                    self.failed += 1
                    if len(self.failures) < 10:
                        self.failures.append(f"{method} {path}: {what}")
            time.sleep(self.pause)

    def p95(self, since: float = 0.0) -> float:
        """The 95th percentile of the seconds taken by requests sent at or after ``since``."""
        taken = sorted(seconds for began, seconds in self.timings if began >= since)
        return taken[min(len(taken) - 1, int(len(taken) * 0.95))] if taken else 0.0

    def summary(self) -> str:
        after = (
            f" ({self.sent_after} answered after the fault)" if self.marked < float("inf") else ""
        )
        return (
            f"{self.sent} requests{after}, {self.failed} failed, {self.duration:.1f} s "
            f"(slowest {self.slowest:.1f} s)"
        )


def signed_in(stack: Stack, email: str) -> dict[str, str]:
    """A staff user made with manage.py in the web container, signed in through Nginx."""
    password = secrets.token_urlsafe(18)
    stack.manage("createsuperuser", "--noinput", "--email", email,
                 env={"DJANGO_SUPERUSER_PASSWORD": password})  # fmt: skip
    response = stack.request("POST", "/api/v1/auth/token/",
                             json={"email": email, "password": password})  # fmt: skip
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access']}"}


def ledger(stack: Stack, auth: dict[str, str], name: str) -> tuple[str, int]:
    """An organisation and an account, made through the API; (slug, account id)."""
    org = stack.request("POST", "/api/v1/orgs/", headers=auth,
                        json={"name": name, "default_currency": "EUR"})  # fmt: skip
    assert org.status_code == 201, org.text
    slug = org.json()["slug"]
    account = stack.request("POST", f"/api/v1/orgs/{slug}/accounts/", headers=auth,
                            json={"name": "Checking", "currency": "EUR"})  # fmt: skip
    assert account.status_code == 201, account.text
    return slug, int(account.json()["id"])


def during(loop: Loop, action: Callable[[], object], before: float = 3, after: float = 5) -> None:
    """Run ``action`` with ``loop`` going ``before`` s ahead of it and ``after`` s past it."""
    with loop:
        time.sleep(before)
        action()
        loop.mark()
        time.sleep(after)


def make_vars(stack: Stack) -> list[str]:
    return [f"COMPOSE_PROJECT={stack.project}", f"PROD_ENV_FILE={stack.env_path}",
            f"COMPOSE_FILES=production.yml {stack.dir / 'override.yml'}"]  # fmt: skip


def make_backup(stack: Stack) -> str:
    """make db-backup against the running stack; the backup's path in the container."""
    done = run(["make", "--no-print-directory", "db-backup", *make_vars(stack)], env=stack.env,
               timeout=600)  # fmt: skip
    assert "in the Compose stack's web container" in done.stdout, done.stdout
    found = re.search(r"Backup (/app/data/backups/\S+) complete", done.stdout)
    assert found, done.stdout
    return found[1]
