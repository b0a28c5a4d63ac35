"""Helpers for bench/imports.sh, run with the server's settings (production, DATABASE_URL).

python bench/imports.py csv FILE ROWS              a bank CSV of ROWS rows (~80 bytes each)
python bench/imports.py setup SLUG                 drop earlier bench accounts, open one; its id
python bench/imports.py run SLUG ACCOUNT FILE S    create the job (service path, sent to the
                                                   broker), wait up to S s; "status secs rows"
python bench/imports.py rawcopy FILE               COPY the file into an unindexed TEMP table; secs
python bench/imports.py cleanup SLUG               delete the bench accounts and their rows
"""

import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

ACCOUNT_NAME = "Bench import"
HEADER = "date,amount,description,counterparty,reference\r\n"
# The import's own column order for the same file (kore.exports.services.IMPORT_MAPPING, no BOM).
MAPPING = {
    "date": "date", "amount": "amount", "description": "description",
    "counterparty": "counterparty", "reference": "reference", "date_format": "%Y-%m-%d",
    "decimal": ".", "delimiter": ",", "encoding": "utf-8",
}  # fmt: skip
WORDS = ("CARD PAYMENT", "DIRECT DEBIT", "STANDING ORDER", "TRANSFER", "SEPA CREDIT", "REFUND")
PAYEES = (
    "Supermarkt Nord GmbH", "Stadtwerke Energie", "Cafe Central", "Online Shop EU Sarl",
    "Bahn Fernverkehr", "Apotheke am Markt", "Telekom Mobil", "Hausverwaltung Mueller",
)  # fmt: skip


def csv_write(path: str, rows: str) -> None:
    rng = random.Random(5)  # noqa: S311 - bench data
    start = date.today() - timedelta(days=730)  # noqa: DTZ011
    days = [(start + timedelta(days=d)).isoformat() for d in range(730)]
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        lines: list[str] = []
        for i in range(int(rows)):
            cents = rng.randint(-250_000, 150_000) or 1
            lines.append(
                f"{rng.choice(days)},{cents / 100:.2f},{rng.choice(WORDS)} {i:08d} "
                f"{rng.randint(1000, 9999)},{rng.choice(PAYEES)},BENCH-{i:010d}\r\n"
            )
            if len(lines) >= 10_000:
                out.write("".join(lines))
                lines.clear()
        out.write("".join(lines))


def _django() -> None:
    import django

    django.setup()


def _owner_ctx(slug: str):
    from kore.orgs.models import Membership, Role
    from kore.orgs.scoping import OrgContext

    owner = Membership.objects.select_related("organization", "user").get(
        organization__slug=slug, role=Role.OWNER
    )
    return OrgContext(owner.organization, Role.OWNER, owner.user, None)


def cleanup(slug: str) -> None:
    """Raw deletes: the bench's rows have no splits, tags or attachments."""
    _django()
    from django.db import connection, transaction

    from kore.ledger.models import Account

    ids = list(
        Account.objects.filter(organization__slug=slug, name=ACCOUNT_NAME).values_list(
            "pk", flat=True
        )
    )
    if not ids:
        return
    with transaction.atomic(), connection.cursor() as cur:
        for sql in (
            "DELETE FROM ledger_historicaltransaction WHERE account_id = ANY(%s)",
            "DELETE FROM ledger_transaction WHERE account_id = ANY(%s)",
            "DELETE FROM imports_importjob WHERE account_id = ANY(%s)",
            "DELETE FROM imports_importmapping WHERE account_id = ANY(%s)",
            "DELETE FROM ledger_historicalaccount WHERE id = ANY(%s)",
            "DELETE FROM ledger_account WHERE id = ANY(%s)",
        ):
            cur.execute(sql, [ids])


def setup(slug: str) -> None:
    cleanup(slug)
    from kore.ledger.services.accounts import account_create

    print(account_create(ctx=_owner_ctx(slug), name=ACCOUNT_NAME, currency="EUR").pk)  # noqa: T201


def run(slug: str, account: str, path: str, timeout: str) -> None:
    _django()
    from django.core.files import File

    from kore.imports.models import ImportJob
    from kore.imports.services import import_job_create

    started = time.perf_counter()
    with open(path, "rb") as handle:
        job = import_job_create(
            ctx=_owner_ctx(slug), file=File(handle, name=Path(path).name), account=int(account),
            format=ImportJob.Format.CSV, mapping=MAPPING,
        )  # fmt: skip
    deadline = started + float(timeout)
    while True:
        job.refresh_from_db()
        if job.status not in ImportJob.ACTIVE or time.perf_counter() > deadline:
            break
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    detail = f"{job.error_code}:{job.error_message}" if job.error_code else "-"
    print(f"{job.status} {elapsed:.2f} {job.created_count} {job.pk} {detail}")  # noqa: T201


def rawcopy(path: str) -> None:
    """Seconds to COPY the file's rows into a TEMP copy of ledger_transaction: no indexes, no
    constraints (kore.demo.seeding._raw_copy, fed by the CSV itself)."""
    _django()
    from django.db import connection, transaction

    from kore.demo.seeding import _copy

    def chunks():
        with open(path, "rb") as f:
            while block := f.read(1024 * 1024):
                yield block

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE bench_scratch (LIKE ledger_transaction INCLUDING DEFAULTS) "
            "ON COMMIT DROP"
        )
        cur.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'bench_scratch'::regclass "
            "AND attnum > 0 AND attnotnull AND NOT atthasdef"
        )
        for (name,) in cur.fetchall():
            cur.execute(f'ALTER TABLE bench_scratch ALTER COLUMN "{name}" DROP NOT NULL')
        started = time.perf_counter()
        _copy(
            "COPY bench_scratch (occurred_on, amount, description, counterparty, reference) "
            "FROM STDIN (FORMAT csv, HEADER true)",
            chunks(),
        )
        elapsed = time.perf_counter() - started
        cur.execute("SELECT count(*) FROM bench_scratch")
        copied = cur.fetchone()[0]
    print(f"{elapsed:.3f} {copied}")  # noqa: T201


def floor(job_id: str) -> None:
    """Seconds the database alone needs to put the job's rows into the ledger: the same rows (a
    TEMP copy with fresh ids) inserted with one INSERT … SELECT, every index kept up and every
    foreign key checked, then rolled back. No import of these rows can be faster."""
    _django()
    from django.db import connection, transaction

    class Rollback(Exception):
        pass

    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL jit = off")
            cur.execute(
                "CREATE TEMP TABLE bench_floor ON COMMIT DROP AS "
                "SELECT * FROM ledger_transaction WHERE import_job_id = %s",
                [int(job_id)],
            )
            cur.execute("SELECT max(id) FROM ledger_transaction")
            cur.execute("UPDATE bench_floor SET id = id + %s", [cur.fetchone()[0]])
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # checked in the timing, not at COMMIT
            started = time.perf_counter()
            cur.execute("INSERT INTO ledger_transaction SELECT * FROM bench_floor")
            elapsed, inserted = time.perf_counter() - started, cur.rowcount
            raise Rollback
    except Rollback:
        pass
    print(f"{elapsed:.3f} {inserted}")  # noqa: T201


if __name__ == "__main__":
    commands = {"csv": csv_write, "setup": setup, "run": run, "rawcopy": rawcopy,
                "floor": floor, "cleanup": cleanup}  # fmt: skip
    commands[sys.argv[1]](*sys.argv[2:])
