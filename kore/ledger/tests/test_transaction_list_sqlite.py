"""The transaction list on SQLite (the embedded build): every filter case of ``list_cases``, the
ORM path walked page by page, equals the row-by-row Python answer; rows render to the declared
shape; running balances add up exactly. Runs in its own process on ``config.settings.local``."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import django
django.setup()
from decimal import Decimal
from django.core.management import call_command
from django.db import connection
assert connection.vendor == "sqlite"
call_command("migrate", verbosity=0)
from kore.ledger import transaction_list as tl
from kore.ledger.tests import list_cases
from kore.orgs.models import Organization, Role, User
from kore.orgs.scoping import OrgContext
user = User.objects.create_user(email="o@example.com", password="x")
org = Organization.objects.create(name="Books", slug="books")
refs = list_cases.seed(OrgContext(org, Role.OWNER, user, None))
checked = 0
for name, params in list_cases.cases(refs).items():
    f = tl.parse_filters(params)
    want = list_cases.expected(org, f)
    assert want, name
    got = list_cases.walk(org, f)
    assert got == want, (name, got, want)
    assert tl.count(organization=org, filters=f, at_most=100) == len(want), name
    checked += 1
rows, _ = tl.page(organization=org, filters=tl.TransactionFilter(), limit=100)
names = [c.name for c in tl.ROW]
assert all(list(tl.row_json(r)) == names for r in rows)
eur = refs["eur"]
rows, _ = tl.page(
    organization=org, filters=tl.TransactionFilter(account=eur.pk), limit=100,
    running_balance=True,
)
total = Decimal(0)
for row in reversed(rows):
    total += row["amount"]
    assert row["running_balance"] == total, (row["id"], row["running_balance"], total)
print("checked", checked)
"""


def test_list_filters_on_sqlite_equal_the_python_answer(tmp_path):
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
    assert done.stdout.strip().startswith("checked 19"), done.stdout
