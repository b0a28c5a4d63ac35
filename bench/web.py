"""`make bench-web`: the transactions page (first 50 rows, filters shown) rendered server-side vs
the JSON list endpoint for the same page, on an organisation with 100,000 transactions, in one run;
and the gzipped weight of the JS and CSS the base template loads.

Env: DATABASE_URL (postgres://postgres@127.0.0.1:5432/kore_bench_web), BENCH_WEB_TRANSACTIONS
(100000), BENCH_WEB_ROUNDS (40). Prints a table and writes var/bench/web.txt.
"""

import gzip
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kore_bench_web")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/7")
TRANSACTIONS = int(os.environ.get("BENCH_WEB_TRANSACTIONS", "100000"))
ROUNDS = int(os.environ.get("BENCH_WEB_ROUNDS", "40"))
STATIC = ("web/app.css", "web/app.js", "web/vendor/htmx.min.js")


def static_weight() -> dict[str, int]:
    """Gzipped bytes of each file the base template references (level 9, as WhiteNoise does)."""
    from django.contrib.staticfiles import finders

    sizes = {}
    for name in STATIC:
        found = finders.find(name)
        assert isinstance(found, str), name
        sizes[name] = len(gzip.compress(Path(found).read_bytes(), compresslevel=9))
    return sizes


def _seed() -> str:
    from django.core.management import call_command

    from kore.ledger.models import Transaction
    from kore.orgs.models import Organization

    orgs = Organization.objects.filter(slug__startswith="seed-")
    count = Transaction.objects.filter(organization__in=orgs).count()
    if count != TRANSACTIONS or orgs.count() != 1:
        call_command("seed_demo", "--reset", "--seed", "1", "--transactions", str(TRANSACTIONS),
                     "--orgs", "1")  # fmt: skip
    return Organization.objects.get(slug__startswith="seed-").slug


def _time(client: object, paths: list[tuple[str, str]]) -> list[list[float]]:
    """Milliseconds per request for each (path, Accept), the paths taking turns so that a busy
    moment on the machine weighs on both alike."""
    samples: list[list[float]] = [[] for _ in paths]
    for _ in range(ROUNDS):
        for i, (path, accept) in enumerate(paths):
            start = time.perf_counter()
            response = client.get(path, HTTP_ACCEPT=accept)  # type: ignore[attr-defined]
            samples[i].append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (path, response.status_code)
    return [s[3:] for s in samples]  # the first few warm caches and connections


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from kore.orgs.models import Membership, Role

    call_command("migrate", "--noinput", verbosity=0)
    slug = _seed()
    owner = Membership.objects.filter(organization__slug=slug, role=Role.OWNER).first()
    assert owner is not None
    client = Client()
    client.force_login(owner.user)
    page, api = _time(
        client,
        [
            (f"/o/{slug}/transactions/", "text/html"),
            (f"/api/v1/orgs/{slug}/transactions/?limit=50", "application/json"),
        ],
    )
    html_ms, api_ms = statistics.median(page), statistics.median(api)
    weight = static_weight()
    lines = [
        f"transactions in the organisation: {TRANSACTIONS}; rounds: {ROUNDS} (first 3 dropped)",
        f"web page (50 rows, filters): median {html_ms:.1f} ms, p90 "
        f"{statistics.quantiles(page, n=10)[-1]:.1f} ms",
        f"JSON list (limit=50):        median {api_ms:.1f} ms, p90 "
        f"{statistics.quantiles(api, n=10)[-1]:.1f} ms",
        f"ratio page / JSON: {html_ms / api_ms:.2f} (target <= 2)",
        "static JS + CSS gzipped: "
        + ", ".join(f"{k} {v / 1024:.1f} KB" for k, v in weight.items())
        + f"; total {sum(weight.values()) / 1024:.1f} KB (budget 150 KB)",
    ]
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "web.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
