"""Conversion and a converted report on SQLite (the embedded build), in their own process on
``config.settings.local``: the same hand-computed figures as on PostgreSQL."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import django
django.setup()
from datetime import date
from decimal import Decimal as D
from django.core.management import call_command
from django.db import connection
assert connection.vendor == "sqlite"
call_command("migrate", verbosity=0)
from kore.fx.conversion import AmountLine, convert_amounts
from kore.fx.services import RateInput, exchange_rate_set
from kore.ledger.services.accounts import account_create
from kore.ledger.services.transactions import transaction_create
from kore.orgs.models import Organization, Role, User
from kore.orgs.scoping import OrgContext
from kore.reports.converted import cash_flow_converted
user = User.objects.create_user(email="o@example.com", password="x")
org = Organization.objects.create(name="Books", slug="books", max_rate_age_days=5)
for quote, day, rate in (("USD", 2, "1.25"), ("JPY", 2, "160"), ("USD", 20, "1.10")):
    exchange_rate_set(organization=org, item=RateInput("EUR", quote, date(2026, 3, day), D(rate)))
lines = [
    AmountLine(D("10.00"), "USD", date(2026, 3, 5)),   # triangulated: 10 / 1.25 * 160 = 1280
    AmountLine(D("0.01"), "EUR", date(2026, 3, 5)),    # 1.6 → 2
    AmountLine(D("5.00"), "USD", date(2026, 3, 19)),   # last rate 2026-03-02: stale
    AmountLine(D("5.00"), "GBP", date(2026, 3, 5)),    # no rate
]
result = convert_amounts(organization=org, lines=lines, currency="JPY")
assert [l.status for l in result.lines] == ["converted", "converted", "stale", "missing"], result
assert result.total == D(1282), result.total
ctx = OrgContext(org, Role.OWNER, user, None)
usd = account_create(ctx=ctx, name="Card", currency="USD")
transaction_create(ctx=ctx, account=usd.pk, occurred_on="2026-03-03", amount=D("-3.33"))
report = cash_flow_converted(
    organization=org, date_from=date(2026, 3, 1), date_to=date(2026, 3, 31), period="month",
    include_transfers=False, currency="EUR", explain=False,
)
assert report["rows"][0]["outflow"] == "-2.66", report
# The category report's one scan (a LEFT JOIN to split lines) on SQLite: a whole transaction
# under its category, a split one under each line's.
from kore.ledger.models import Category
from kore.reports.converted import category_report
food = Category.objects.create(organization=org, name="Food", kind="expense")
trip = Category.objects.create(organization=org, name="Trip", kind="expense")
transaction_create(ctx=ctx, account=usd.pk, occurred_on="2026-03-04", amount=D("-5.00"),
                   category=food.pk)
transaction_create(ctx=ctx, account=usd.pk, occurred_on="2026-03-05", amount=D("-10.00"),
                   splits=[{"category": food.pk, "amount": D("-4.00")},
                           {"category": trip.pk, "amount": D("-6.00")}])
cats = category_report(organization=org, date_from=date(2026, 3, 4), date_to=date(2026, 3, 5),
                       currency="EUR")
got = {(r["category"], r["spending"], r["count"]) for r in cats["rows"]}
assert got == {(food.pk, "-9.00", 2), (trip.pk, "-6.00", 1)}, cats
conv = {(r["category"], r["spending"]) for r in cats["converted"]["rows"]}
assert conv == {(food.pk, "-7.20"), (trip.pk, "-4.80")}, cats  # 5/1.25 + 4/1.25, 6/1.25
print("converted")
"""


def test_conversion_on_sqlite_equals_the_hand_computed_figures(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/"),
        "KORE_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.strip() == "converted", done.stdout
