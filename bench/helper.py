"""Bench helpers run with the server's settings: a JWT, ids, a deep cursor, EXPLAIN plans.

python bench/helper.py token SLUG
python bench/helper.py org SLUG                          (the organisation's id, for bench/bare)
python bench/helper.py category SLUG NAME
python bench/helper.py walk BASE_URL SLUG TOKEN ROWS     (prints the cursor after ROWS rows)
python bench/helper.py explain SLUG CURSOR CATEGORY DATE_FROM DATE_TO
python bench/helper.py page-sql SLUG FILE                (the first page's SQL, for bench/bare)
python bench/helper.py auth-sql SLUG FILE                (the authentication query, for bench/bare)
python bench/helper.py rates SLUG DAYS                   (a rate a working day per seeded currency)
python bench/helper.py uncached SLUG DATE_FROM DATE_TO CURRENCY ROUNDS
    (each report computed as on a cache miss, unconverted vs converted; see ``uncached``)
"""

import json
import os
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from kore.demo.seeding import PER_EUR  # noqa: E402
from kore.fx.services import RateInput, exchange_rates_store  # noqa: E402
from kore.ledger import transaction_list as tl  # noqa: E402
from kore.ledger.models import Category  # noqa: E402
from kore.orgs import selectors  # noqa: E402
from kore.orgs.models import Membership, Organization, Role, User  # noqa: E402
from kore.orgs.services import token_pair_issue  # noqa: E402
from kore.reports import converted  # noqa: E402


def token(slug: str) -> None:
    owner = Membership.objects.get(organization__slug=slug, role=Role.OWNER).user
    print(token_pair_issue(user=owner)["access"])  # noqa: T201


def org(slug: str) -> None:
    print(Organization.objects.get(slug=slug).pk)  # noqa: T201


def category(slug: str, name: str) -> None:
    print(Category.objects.get(organization__slug=slug, name=name, depth=1).pk)  # noqa: T201


def walk(base: str, slug: str, bearer: str, rows: str) -> None:
    cursor, seen = "", 0
    while seen < int(rows):
        url = f"{base}/api/v1/orgs/{slug}/transactions/?limit=500"
        if cursor:
            url += "&cursor=" + urllib.parse.quote(cursor)
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {bearer}"})  # noqa: S310
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - 127.0.0.1 only
            body = json.load(resp)
        seen += len(body["results"])
        cursor = body["next_cursor"]
        if not cursor:
            sys.exit(f"only {seen} rows in {slug}")
    print(cursor)  # noqa: T201


def explain(slug: str, cursor: str, category_id: str, date_from: str, date_to: str) -> None:
    org = Organization.objects.get(slug=slug)
    cases = {
        "first page": ({}, None),
        "deep page": ({}, cursor),
        "filtered": (
            {
                "date_from": date.fromisoformat(date_from),
                "date_to": date.fromisoformat(date_to),
                "category": int(category_id),
            },
            None,
        ),
    }
    for name, (filters, cur) in cases.items():
        with CaptureQueriesContext(connection) as ctx:
            tl.page(organization=org, filters=tl.TransactionFilter(**filters), cursor=cur)
        sql = next(q["sql"] for q in ctx.captured_queries if "ORDER BY" in q["sql"])
        with connection.cursor() as c:
            c.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = [row[0] for row in c.fetchall()]
        scans = [line.strip() for line in plan if "Index" in line and "Scan" in line]
        verdict = f"index scan: {'yes' if scans else 'NO (seq scan)'}"
        timing = next((line for line in plan if line.startswith("Execution Time")), "")
        print(f"--- {name}: {verdict}; {timing}")  # noqa: T201
        print("\n".join("    " + line for line in plan))  # noqa: T201


def page_sql(slug: str, path: str) -> None:
    """Write the SQL Kore's first page runs (values bound in) to ``path``: bench/bare serves it
    with no authentication, no middleware beyond its two and no DRF, so Kore's page against it
    is what Kore's request handling costs, and it against the bare list what Kore's rows cost."""
    org = Organization.objects.get(slug=slug)
    with CaptureQueriesContext(connection) as ctx:
        tl.page_json(organization=org, filters=tl.TransactionFilter(), limit=50)
    sql = next(q["sql"] for q in ctx.captured_queries if "ORDER BY" in q["sql"])
    Path(path).write_text(sql)


def auth_sql(slug: str, path: str) -> None:
    """Write the one statement Kore's JWT authentication runs on an ``/orgs/{slug}/`` route
    (``user_for_access_token``: the user, the token's revocation and the membership; placeholders
    left in, bound per request in the order jti, now, slug, user id) and where the row holds the
    revocation flag, the credential change and the membership, as JSON to ``path``: bench/bare's
    mandatory view runs it as Kore does."""
    seen: list[str] = []

    class Recorder:
        def execute(self, sql: str, params: object) -> None:
            seen.append(sql)

        def fetchone(self) -> None:
            return None

    @contextmanager
    def recording() -> Iterator[Recorder]:
        yield Recorder()

    real, selectors.prepared_cursor = selectors.prepared_cursor, recording  # type: ignore[assignment]
    try:
        selectors.user_for_access_token(user_id=1, jti="-", org_slug=slug)
    finally:
        selectors.prepared_cursor = real
    names = [f.attname for f in User._meta.concrete_fields]
    layout = {
        "sql": seen[0],
        "revoked": len(names),
        "credentials_changed_at": names.index("credentials_changed_at"),
        "membership": len(names) + 1,
    }
    Path(path).write_text(json.dumps(layout))


def rates(slug: str, days: str) -> None:
    """Euro rates for each seeded currency on every working day (the ECB's rhythm), so a report
    in a reporting currency converts every row; weekends use Friday's rate."""
    organization = Organization.objects.get(slug=slug)
    today = datetime.now(UTC).date()  # bench/run.sh dates its report in UTC
    items = [
        RateInput("EUR", code, day, Decimal(str(per_eur)) * (1 + Decimal(back % 7) / 1000))
        for back in range(int(days))
        if (day := today - timedelta(days=back)).weekday() < 5
        for code, per_eur in PER_EUR.items()
        if code != "EUR"
    ]
    exchange_rates_store(organization=organization, items=items, source="manual")
    print(len(items))  # noqa: T201


def uncached(slug: str, date_from: str, date_to: str, currency: str, rounds: str) -> None:
    """Each report's computation on a cache miss, in the reporting currency and without: the
    functions the API views call when the report cache has no entry (the JSON rendering and the
    cache write left out), in a process set up as a Gunicorn worker's (config.wsgi: warmed, the
    loaded objects out of the collector's reach). Unconverted and converted alternate, ROUNDS
    times; the best of each. Prints a table, then one ``TARGET`` line per report with an
    unconverted counterpart: converted at >= 60 % of unconverted (requests per second), met or
    MISSED. Net worth exists only in a currency: its time alone."""
    import config.wsgi  # noqa: F401 - a worker's process setup (warm-up, gc.freeze)

    organization = Organization.objects.get(slug=slug)
    start, end = date.fromisoformat(date_from), date.fromisoformat(date_to)
    span = {"organization": organization, "date_from": start, "date_to": end}
    flow = span | {"period": "month", "include_transfers": False}
    cases: list[tuple[str, Callable[[str | None], object]]] = [
        ("categories", lambda code: converted.category_report(**span, currency=code)),
        ("cash_flow", lambda code: converted.cash_flow_report(**flow, currency=code)),
        (
            "balances",
            lambda code: converted.balances_report(
                organization=organization, as_of=end, currency=code
            ),
        ),
    ]
    print(f"{'report':<12} {'unconverted':>14} {'in ' + currency:>14} {'ratio':>6}")  # noqa: T201
    targets = []
    for name, compute in cases:
        plain, conv = _best_ms(compute, (None, currency), int(rounds))
        ratio = plain / conv
        print(f"{name:<12} {plain:>11.1f} ms {conv:>11.1f} ms {ratio:>6.0%}")  # noqa: T201
        verdict = "met" if ratio >= 0.6 else "MISSED"
        targets.append(
            f"TARGET {verdict:<6} {name + '_fx':<12} uncached >= 60% of unconverted: {ratio:.0%} "
            f"({conv:.0f} vs {plain:.0f} ms)"
        )
    (worth,) = _best_ms(
        lambda code: converted.net_worth(**span, period="day", currency=code, explain=False),
        (currency,),
        int(rounds),
    )
    print(f"{'net_worth':<12} {'-':>14} {worth:>11.1f} ms {'-':>6}  (per day)")  # noqa: T201
    print("\n".join(targets))  # noqa: T201


def _best_ms(
    compute: Callable[[str | None], object], codes: tuple[str | None, ...], rounds: int
) -> list[float]:
    """The best time (ms) of ``compute(code)`` for each code, the codes alternating."""
    for code in codes:
        compute(code)  # not measured: the first call opens connections, fills the rate cache
    best = [float("inf")] * len(codes)
    for _ in range(rounds):
        for i, code in enumerate(codes):
            started = time.perf_counter()
            compute(code)
            best[i] = min(best[i], (time.perf_counter() - started) * 1000)
    return best


if __name__ == "__main__":
    commands = {
        "token": token, "org": org, "category": category, "walk": walk, "explain": explain,
        "page-sql": page_sql, "auth-sql": auth_sql, "rates": rates, "uncached": uncached,
    }  # fmt: skip
    commands[sys.argv[1]](*sys.argv[2:])
