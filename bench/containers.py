"""`make bench-containers`: Kore's load model against the real containers, both profiles.

For production.yml and for the 512 MB profile (production.yml + production.lowmem.yml, staging
up beside production), each in Kore's own Docker engine (scripts/containers/engine.sh) with the
images built from the repository's Dockerfiles:

- a capacity sweep: BENCH_USERS (10,25,50,75,100,150) users of the load model
  (tests/containers/loadmodel.py: think time 1 s +/- 0.5 s over list pages, a filter, a report,
  a detail, a create and an admin page) for BENCH_SECONDS (60) each, through Nginx; p95 per
  endpoint at every level and the capacity: the most users whose p95 (all requests) stays under
  200 ms;
- a soak of the 512 MB profile: BENCH_SOAK_USERS (100) users for BENCH_SOAK_SECONDS (300), with
  every container's peak memory and OOM counter read from its memory cgroup.

BENCH_PROFILES (lowmem,production) picks the profiles. The machine's load average is printed
with each run: on a shared machine p95 moves with it, run a figure twice before believing it.
Prints the tables and writes var/bench/containers.txt. The engine is left running
(scripts/containers/engine.sh down stops it).
"""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.containers import loadmodel  # noqa: E402
from tests.containers.lowmem import LowmemStack, usage_table  # noqa: E402
from tests.containers.stack import HOST_NAME, Stack, engine_env  # noqa: E402

USERS = [int(n) for n in os.environ.get("BENCH_USERS", "10,25,50,75,100,150").split(",")]
SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
SOAK_USERS = int(os.environ.get("BENCH_SOAK_USERS", "100"))
SOAK_SECONDS = float(os.environ.get("BENCH_SOAK_SECONDS", "300"))
PROFILES = os.environ.get("BENCH_PROFILES", "lowmem,production").split(",")
TARGET_MS = 200.0
ALLOWLIST = "172.16.0.0/12 192.168.0.0/16 10.0.0.0/8"
OUT = ROOT / "var/bench/containers.txt"
LINES: list[str] = []


def say(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    LINES.append(line)


class ProductionStack(Stack):
    """production.yml as the container tests run it, Nginx's per-client limits off for the load
    (it all comes from one address, the engine's bridge)."""

    def write_config(self) -> None:
        super().write_config()
        lines = [
            line
            for line in self.env_path.read_text().splitlines()
            if not line.startswith("NGINX_RATE_LIMIT_ALLOWLIST=")
        ]
        self.env_path.write_text(
            "\n".join([*lines, f"NGINX_RATE_LIMIT_ALLOWLIST={ALLOWLIST}"]) + "\n"
        )


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def sweep(stack: Stack, name: str, identities: list[loadmodel.Identity]) -> None:
    say(f"== {name}: capacity sweep, {SECONDS:.0f} s per level ==")
    p95s: list[tuple[int, float]] = []
    for users in USERS:
        result = loadmodel.run(stack.base, HOST_NAME, identities[:users], SECONDS)
        say(f"-- {users} users (load average before: {load_average()})")
        for line in result.table():
            say(line)
        if result.failed:
            say(f"   failures: {result.failure_sample(5)}")
        p95s.append((users, result.p95()))
    under = [users for users, p95 in p95s if p95 < TARGET_MS]
    crossed = [users for users, p95 in p95s if p95 >= TARGET_MS]
    best = f"{max(under)} users" if under else f"none of {USERS}"
    first = f"{min(crossed)} users" if crossed else "no level"
    say(f"capacity ({name}): p95 < {TARGET_MS:.0f} ms up to {best}; crossed at {first}")
    say("   users  p95 ms: " + ", ".join(f"{u}: {p:.0f}" for u, p in p95s))
    say()


def bring_up(stack: Stack, users: int) -> list[loadmodel.Identity]:
    stack.write_config()
    stack.down()
    stack.timed("up", stack.up)
    stack.manage("seed_demo", "--transactions", "5000", "--orgs", "1", "--seed", "1",
                 "--no-raw-copy")  # fmt: skip
    return loadmodel.identities_from(stack.manage("shell", "-c", loadmodel.SEED % {"users": users}))


def main() -> None:
    env = engine_env()
    builder = Stack(env=env, dir=Path(tempfile.mkdtemp(prefix="kore-bench-")))
    builder.build_standins()
    builder.build_images()
    most = max([*USERS, SOAK_USERS])
    say(f"Kore load model through Nginx, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} CPUs (shared), stand-ins: {len(builder.standins)}")  # fmt: skip
    say()
    if "lowmem" in PROFILES:
        stack = LowmemStack(env=env, dir=Path(tempfile.mkdtemp(prefix="kore-bench-512-")))
        try:
            identities = bring_up(stack, most)
            sweep(stack, "512 MB profile (production + staging)", identities)
            say(f"== 512 MB profile: soak, {SOAK_USERS} users for {SOAK_SECONDS:.0f} s ==")
            stack.reset_peaks()
            stack.start_sampling()
            result = loadmodel.run(stack.base, HOST_NAME, identities[:SOAK_USERS], SOAK_SECONDS)
            stack.stop_sampling()
            say(f"(load average after: {load_average()})")
            for line in [*result.table(), "", *usage_table(stack.usage())]:
                say(line)
            say()
        finally:
            stack.down()
    if "production" in PROFILES:
        prod = ProductionStack(env=env, dir=Path(tempfile.mkdtemp(prefix="kore-bench-prod-")))
        try:
            identities = bring_up(prod, most)
            sweep(prod, "production.yml (2 Gunicorn workers x 4 threads)", identities)
        finally:
            prod.down()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(LINES) + "\n")
    sys.stdout.write(f"written to {OUT.relative_to(ROOT)}\n")


if __name__ == "__main__":
    main()
