"""Kore's load model: users, not connections that never pause.

Each user is a thread with its own keep-alive connection and its own sign-in (a JWT for the API,
a session cookie for the web pages and the admin). It sends a request picked from the mix below,
waits a think time of 1 s ± 0.5 s (uniform) and repeats until the run ends. Latency is measured
from the first byte sent to the whole body read, through Nginx. A failure is anything but the
status the step expects (a 5xx, a 429, a closed connection, a timeout).

The users start spread over the first think time, as people arriving, not all in one instant.
"""

import random
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

THINK_MEAN = 1.0
THINK_SPREAD = 0.5
TIMEOUT = 30.0


@dataclass(frozen=True)
class Identity:
    """One load user: its API token and web session, and the organisation it works in."""

    access: str
    session: str
    csrf: str
    org: str
    account: int
    transaction: int  # one it may read


@dataclass(frozen=True)
class Step:
    name: str
    weight: int
    send: Callable[[requests.Session, str, Identity, random.Random], requests.Response]
    expect: int = 200


def _api(identity: Identity) -> dict[str, str]:
    return {"Authorization": f"Bearer {identity.access}"}


def _create(s: requests.Session, base: str, who: Identity, rng: random.Random) -> Any:
    cents = rng.randint(1, 99_999)
    return s.post(
        f"{base}/api/v1/orgs/{who.org}/transactions/",
        json={"account": who.account, "occurred_on": "2026-03-14",
              "amount": f"-{cents // 100}.{cents % 100:02d}", "description": "load model"},
        headers=_api(who) | {"Idempotency-Key": f"{rng.getrandbits(64):016x}"},
        timeout=TIMEOUT,
    )  # fmt: skip


MIX: tuple[Step, ...] = (
    Step(
        "web: transactions page",
        25,
        lambda s, b, w, r: s.get(f"{b}/o/{w.org}/transactions/", timeout=TIMEOUT),
    ),
    Step(
        "api: transactions list",
        20,
        lambda s, b, w, r: s.get(
            f"{b}/api/v1/orgs/{w.org}/transactions/?limit=50", headers=_api(w), timeout=TIMEOUT
        ),
    ),
    Step(
        "api: transactions filter",
        15,
        lambda s, b, w, r: s.get(
            f"{b}/api/v1/orgs/{w.org}/transactions/?limit=50&amount_max=-10&date_from="
            f"2025-0{r.randint(1, 9)}-01",
            headers=_api(w),
            timeout=TIMEOUT,
        ),
    ),
    Step(
        "api: report (cash flow)",
        10,
        lambda s, b, w, r: s.get(
            f"{b}/api/v1/orgs/{w.org}/reports/cashflow/", headers=_api(w), timeout=TIMEOUT
        ),
    ),
    Step(
        "api: transaction detail",
        15,
        lambda s, b, w, r: s.get(
            f"{b}/api/v1/orgs/{w.org}/transactions/{w.transaction}/",
            headers=_api(w),
            timeout=TIMEOUT,
        ),
    ),
    Step("api: create transaction", 10, _create, expect=201),
    Step(
        "admin: transactions",
        5,
        lambda s, b, w, r: s.get(f"{b}/admin/ledger/transaction/", timeout=TIMEOUT),
    ),
)


@dataclass
class Result:
    users: int
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values()) + self.failed

    @property
    def failed(self) -> int:
        return sum(len(v) for v in self.failures.values())

    def p95(self, name: str | None = None) -> float:
        values = (
            self.latencies[name]
            if name
            else [v for values in self.latencies.values() for v in values]
        )
        if len(values) < 2:
            return float("nan")
        return statistics.quantiles(values, n=20, method="inclusive")[18]

    def table(self) -> list[str]:
        lines = [f"{'endpoint':<26} {'requests':>8} {'failed':>6} {'p50 ms':>7} {'p95 ms':>7}"]
        for step in MIX:
            values = self.latencies[step.name]
            p50 = statistics.median(values) if values else float("nan")
            lines.append(
                f"{step.name:<26} {len(values):>8} {len(self.failures[step.name]):>6} "
                f"{p50:>7.0f} {self.p95(step.name):>7.0f}"
            )
        rate = self.requests / self.seconds if self.seconds else 0
        lines.append(
            f"{'all':<26} {self.requests:>8} {self.failed:>6} "
            f"{statistics.median([v for x in self.latencies.values() for v in x] or [0]):>7.0f} "
            f"{self.p95():>7.0f}   ({self.users} users, {self.seconds:.0f} s, {rate:.0f} req/s)"
        )
        return lines

    def failure_sample(self, limit: int = 10) -> list[str]:
        return [f"{n}: {m}" for n, msgs in self.failures.items() for m in msgs[:limit]][:limit]


def run(
    base: str, host: str, identities: list[Identity], seconds: float, *, seed: int = 1
) -> Result:
    """``len(identities)`` users against ``base`` (Nginx) for ``seconds``."""
    result = Result(users=len(identities), seconds=seconds)
    lock = threading.Lock()
    steps = [step for step in MIX for _ in range(step.weight)]
    started = time.monotonic()
    deadline = started + seconds

    def user(index: int, who: Identity) -> None:
        rng = random.Random(seed * 1_000_003 + index)
        session = requests.Session()
        session.headers["Host"] = host
        session.cookies.set("sessionid", who.session)
        session.cookies.set("csrftoken", who.csrf)
        time.sleep(rng.uniform(0, THINK_MEAN))  # arrivals spread over one think time
        while time.monotonic() < deadline:
            step = rng.choice(steps)
            sent = time.perf_counter()
            error = ""
            try:
                response = step.send(session, base, who, rng)
                if response.status_code != step.expect:
                    error = f"{response.status_code} {response.text[:120]!r}"
            except requests.RequestException as exc:
                error = type(exc).__name__
            took = (time.perf_counter() - sent) * 1000
            with lock:
                if error:
                    result.failures[step.name].append(error)
                else:
                    result.latencies[step.name].append(took)
            time.sleep(max(0.0, rng.uniform(THINK_MEAN - THINK_SPREAD, THINK_MEAN + THINK_SPREAD)))
        session.close()

    threads = [
        threading.Thread(target=user, args=(i, who), daemon=True)
        for i, who in enumerate(identities)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + TIMEOUT + 10)
    result.seconds = time.monotonic() - started
    return result


# The users, made in the web container with manage.py shell: an organisation with seeded
# transactions (manage.py seed_demo), N staff users who are members of it, a JWT and a session
# each. Prints one JSON object.
SEED = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.middleware.csrf import _get_new_csrf_string
from rest_framework_simplejwt.tokens import RefreshToken
from kore.ledger.models import Account, Transaction
from kore.orgs.models import Membership, Organization

org = Organization.objects.get(slug__startswith="seed-")
account = Account.objects.filter(organization=org).order_by("pk").first()
transaction = Transaction.objects.filter(organization=org).order_by("pk").first()
User = get_user_model()
out = []
for i in range(%(users)d):
    user, _ = User.objects.get_or_create(email=f"load{i}@kore.test",
                                         defaults={"is_staff": True, "is_superuser": True})
    Membership.objects.get_or_create(organization=org, user=user, defaults={"role": "owner"})
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    out.append({"access": str(RefreshToken.for_user(user).access_token),
                "session": session.session_key, "csrf": _get_new_csrf_string(),
                "org": org.slug, "account": account.pk, "transaction": transaction.pk})
print("LOAD-USERS " + json.dumps(out))
"""


def identities_from(output: str) -> list[Identity]:
    import json

    line = next(line for line in output.splitlines() if line.startswith("LOAD-USERS "))
    return [Identity(**item) for item in json.loads(line.removeprefix("LOAD-USERS "))]
