"""The 512 MB profile for real: production.yml + production.lowmem.yml, production and staging up
together under the profile's memory limits, loaded by 100 users of Kore's load model through
Nginx. Every container's OOM counter is read from its memory cgroup afterwards.

KORE_LOWMEM_USERS (100) and KORE_LOWMEM_SECONDS (60) size the run; `make bench-containers`
runs longer soaks and the capacity sweep with bench/containers.py.
"""

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from . import loadmodel
from .conftest import REPORT
from .lowmem import BUDGET_MIB, MIB, STAGING_HOST, LowmemStack, usage_table
from .stack import HOST_NAME, StackError, engine_env, wait_for

pytestmark = pytest.mark.containers

USERS = int(os.environ.get("KORE_LOWMEM_USERS", "100"))
SECONDS = float(os.environ.get("KORE_LOWMEM_SECONDS", "60"))
TRANSACTIONS = 5000


def bring_up(directory: Path) -> LowmemStack:
    """Images (built once, cached), the profile up, one organisation seeded; fails with why."""
    stack = LowmemStack(env=engine_env(), dir=directory)
    try:
        stack.timed("stand-ins", stack.build_standins)
        stack.timed("images", stack.build_images)
        stack.write_config()
        stack.down()  # leftovers of an interrupted run
        stack.timed("up", stack.up)
        stack.timed("seed", lambda: stack.manage(
            "seed_demo", "--transactions", str(TRANSACTIONS), "--orgs", "1", "--seed", "1",
            "--no-raw-copy"))  # fmt: skip
    except (StackError, AssertionError) as error:
        detail = stack.diagnostics() if "up" in stack.timings else ""
        stack.down()
        pytest.fail(f"the 512 MB profile did not come up:\n{error}\n{detail}", pytrace=False)
    return stack


@pytest.fixture(scope="module")
def lowmem(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LowmemStack]:
    stack = bring_up(tmp_path_factory.mktemp("lowmem"))
    yield stack
    stack.timed("down", stack.down)
    REPORT["512 MB profile: timings (s)"] = [f"{k}: {v:.0f}" for k, v in stack.timings.items()]


@pytest.fixture(scope="module")
def users(lowmem: LowmemStack) -> list[loadmodel.Identity]:
    made = lowmem.manage("shell", "-c", loadmodel.SEED % {"users": USERS})
    return loadmodel.identities_from(made)


def test_limits_add_up_to_512_mib_with_production_and_staging_up(lowmem: LowmemStack) -> None:
    running = lowmem.long_running()
    assert {"postgres", "redis", "pgbouncer", "django", "celeryworker", "nginx",
            "django-staging", "nginx-staging"} <= set(running), sorted(running)  # fmt: skip
    limits = {name: int(c["HostConfig"]["Memory"]) // MIB for name, c in running.items()}
    assert all(limits.values()), limits  # every one is limited
    assert sum(limits.values()) <= BUDGET_MIB, limits
    REPORT["512 MB profile: memory limits (MiB)"] = [f"{n}: {m}" for n, m in sorted(limits.items())]


def test_staging_has_its_own_database_and_answers_on_its_own_port(lowmem: LowmemStack) -> None:
    running = lowmem.long_running()

    def env(service: str) -> dict[str, str]:
        pairs = running[service]["Config"]["Env"]
        return dict(item.split("=", 1) for item in pairs)

    assert env("django")["DATABASE_URL"].endswith("/kore")
    assert env("django-staging")["DATABASE_URL"].endswith("/kore_staging")
    health = requests.get(f"{lowmem.staging_base}/api/v1/health/",
                          headers={"Host": STAGING_HOST}, timeout=15)  # fmt: skip
    assert health.status_code == 200, health.text
    # Production's seeded organisation is not in staging's database: its users cannot sign in.
    token = requests.post(f"{lowmem.staging_base}/api/v1/auth/token/",
                          headers={"Host": STAGING_HOST}, timeout=15,
                          json={"email": "load0@kore.test", "password": "x" * 12})  # fmt: skip
    assert token.status_code in (400, 401), token.text


def test_worker_is_healthy_by_its_heartbeat_and_runs_an_import(
    lowmem: LowmemStack, users: list[loadmodel.Identity]
) -> None:
    worker = lowmem.long_running()["celeryworker"]

    def healthy() -> bool:
        state = json.loads(lowmem.docker("inspect", "--format", "{{json .State.Health}}",
                                         str(worker["Id"])))  # fmt: skip
        return bool(state["Status"] == "healthy")

    wait_for("the worker's heartbeat health check", healthy, 120, interval=3)
    who = users[0]
    auth = {"Authorization": f"Bearer {who.access}"}
    csv = b"date,amount,description\n2026-02-01,-4.20,Coffee\n2026-02-02,1500.00,Salary\n"
    upload = lowmem.request(
        "POST", f"/api/v1/orgs/{who.org}/imports/", headers=auth,
        files={"file": ("statement.csv", csv, "text/csv")},
        data={"account": str(who.account), "format": "csv", "mapping": json.dumps(
            {"date": "date", "amount": "amount", "description": "description"})},
    )  # fmt: skip
    assert upload.status_code == 202, upload.text
    path = f"/api/v1/orgs/{who.org}/imports/{upload.json()['id']}/"

    def finished() -> dict[str, object] | None:
        job = dict(lowmem.get(path, headers=auth).json())
        return job if job["status"] in ("done", "failed", "cancelled") else None

    assert wait_for("the import to finish", finished, 120)["status"] == "done"


def test_100_users_for_a_minute_no_oom_kill_no_failed_request(
    lowmem: LowmemStack, users: list[loadmodel.Identity]
) -> None:
    lowmem.reset_peaks()
    lowmem.start_sampling()
    try:
        result = loadmodel.run(lowmem.base, HOST_NAME, users, SECONDS, seed=secrets.randbits(16))
    finally:
        lowmem.stop_sampling()
    rows = lowmem.usage()
    REPORT[f"512 MB profile: {len(users)} users, {SECONDS:.0f} s (load model, through Nginx)"] = [
        *result.table(),
        "",
        *usage_table(rows),
    ]
    assert result.failed == 0, result.failure_sample()
    assert result.requests >= len(users) * SECONDS * 0.1  # the users did get answers
    assert [r.name for r in rows if r.oom_kills or r.oom_killed] == [], usage_table(rows)
    assert [r.name for r in rows if r.restarts] == [], usage_table(rows)
    assert all(lowmem.answers("/api/v1/health/live/") for _ in range(3))
