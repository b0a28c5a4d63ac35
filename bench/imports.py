"""Helpers for bench/imports.sh, run with the server's settings (production, DATABASE_URL).

python bench/imports.py csv FILE ROWS              a bank CSV of ROWS rows (~80 bytes each)
python bench/imports.py setup SLUG [rules]         drop earlier bench accounts, open one; its id
                                                   ("rules": a second one, kept until cleanup)
python bench/imports.py history SLUG JOB           give the job's rows categories (a history to
                                                   learn from), train the organisation's model
python bench/imports.py rules SLUG                 20 rules and auto-apply on; "rules confidence"
python bench/imports.py outcome JOB                what rules and suggestions did to the job's
                                                   rows: "categorised tagged noted applied"
python bench/imports.py run SLUG ACCOUNT FILE S    create the job (service path, sent to the
                                                   broker), wait up to S s; "status secs rows"
python bench/imports.py rawcopy FILE               COPY the file into an unindexed TEMP table; secs
python bench/imports.py floor JOB [all]            the job's rows inserted again, rolled back; secs
                                                   ("all": with their history, tags, applied)
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
RULES_ACCOUNT_NAME = "Bench import (rules)"
RULE_PREFIX = "Bench: "
AUTO_APPLY = "0.60"  # the organisation's auto-apply confidence while the bench runs
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
    """Raw deletes: the bench's rows have no splits or attachments; its rules, the tags they
    gave, the suggestions applied and the auto-apply setting go too."""
    _django()
    from django.db import connection, transaction

    from kore.ledger.models import Account
    from kore.payees.models import Rule
    from kore.suggestions.models import SuggestionSettings

    rules = Rule.objects.filter(organization__slug=slug, name__startswith=RULE_PREFIX)
    if rules.exists():
        rules.delete()
        SuggestionSettings.objects.filter(organization__slug=slug).update(
            auto_apply_confidence=None
        )
    ids = list(
        Account.objects.filter(
            organization__slug=slug, name__in=(ACCOUNT_NAME, RULES_ACCOUNT_NAME)
        ).values_list("pk", flat=True)
    )
    if not ids:
        return
    with transaction.atomic(), connection.cursor() as cur:
        for sql in (
            "DELETE FROM suggestions_appliedsuggestion WHERE transaction_id IN "
            "(SELECT id FROM ledger_transaction WHERE account_id = ANY(%s))",
            "DELETE FROM ledger_transaction_tags WHERE transaction_id IN "
            "(SELECT id FROM ledger_transaction WHERE account_id = ANY(%s))",
            "DELETE FROM ledger_historicaltransaction WHERE account_id = ANY(%s)",
            "DELETE FROM ledger_transaction WHERE account_id = ANY(%s)",
            "DELETE FROM imports_importjob WHERE account_id = ANY(%s)",
            "DELETE FROM imports_importmapping WHERE account_id = ANY(%s)",
            "DELETE FROM ledger_historicalaccount WHERE id = ANY(%s)",
            "DELETE FROM ledger_account WHERE id = ANY(%s)",
        ):
            cur.execute(sql, [ids])


def setup(slug: str, which: str = "") -> None:
    if which != "rules":
        cleanup(slug)
    _django()
    from kore.ledger.services.accounts import account_create

    name = RULES_ACCOUNT_NAME if which == "rules" else ACCOUNT_NAME
    print(account_create(ctx=_owner_ctx(slug), name=name, currency="EUR").pk)  # noqa: T201


def _categories(slug: str) -> tuple[list[int], list[int]]:
    """The organisation's expense and income categories, in id order."""
    from kore.ledger.models import Category

    found = Category.objects.filter(organization__slug=slug).order_by("pk")
    expense = list(found.filter(kind=Category.Kind.EXPENSE).values_list("pk", flat=True))
    income = list(found.filter(kind=Category.Kind.INCOME).values_list("pk", flat=True))
    return expense, income


def history(slug: str, job_id: str) -> None:
    """The plain import's rows categorised as a person would have (each payee mostly one
    category, refunds and incoming money another), then the organisation's model trained on its
    history: what auto-apply scores the next import with. Prints the training's seconds."""
    _django()
    from django.db import connection

    from kore.orgs.models import Organization
    from kore.suggestions.services import suggestion_model_train

    expense, income = _categories(slug)
    usual = {p: expense[i * 3 % len(expense)] for i, p in enumerate(PAYEES)}
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE ledger_transaction t SET category_id = CASE "
            "WHEN t.amount > 0 THEN %s::bigint "
            "WHEN t.description LIKE 'REFUND%%' THEN %s::bigint ELSE v.category END "
            "FROM unnest(%s::text[], %s::bigint[]) AS v(payee, category) "
            "WHERE t.import_job_id = %s AND t.counterparty = v.payee",
            [income[0], expense[-1], list(usual), list(usual.values()), int(job_id)],
        )
    began = time.perf_counter()
    suggestion_model_train(organization=Organization.objects.get(slug=slug), force=True)
    print(f"{time.perf_counter() - began:.2f}")  # noqa: T201


def rules(slug: str) -> None:
    """Twenty rules as an organisation writes them (contains, equals and regex conditions on
    the description and counterparty, amount ranges; categories, tags and notes), a few of them
    matching many of the generated rows, several none; auto-apply of suggestions on."""
    _django()
    from decimal import Decimal

    from kore.payees.services_rules import rule_create
    from kore.suggestions.services import suggestion_settings_update

    ctx = _owner_ctx(slug)
    expense, income = _categories(slug)

    def cat(n: int) -> int:
        return expense[n % len(expense)]

    def c(field: str, op: str, value: object) -> dict[str, object]:
        return {"field": field, "op": op, "value": value}

    made = [
        ([c("description", "contains", "card payment"), c("amount", "between", {"min": "-50"})],
         {"category": cat(1), "tags": ["card", "small"]}),
        ([c("counterparty", "equals", "Supermarkt Nord GmbH")],
         {"category": cat(2), "tags": ["groceries"]}),
        ([c("counterparty", "regex", r"^stadtwerke\b")],
         {"category": cat(4), "notes": "Energy bill"}),
        ([c("description", "regex", r"^direct debit \d{8}")], {"tags": ["direct-debit"]}),
        ([c("description", "contains", "refund")], {"category": cat(5), "tags": ["refund"]}),
        ([c("counterparty", "contains", "bahn"),
          c("amount", "between", {"min": "-500", "max": "-100"})],
         {"category": cat(6), "tags": ["travel", "rail"]}),
        ([c("direction", "equals", "in"), c("amount", "between", {"min": "1000"})],
         {"category": income[0], "tags": ["large-income"]}),
        ([c("counterparty", "equals", "telekom mobil")], {"category": cat(7)}),
        ([c("description", "contains", "standing order"),
          c("counterparty", "contains", "hausverwaltung")],
         {"category": cat(8), "notes": "Rent"}),
        ([c("counterparty", "regex", r"apotheke|pharmacy")], {"category": cat(9)}),
        ([c("description", "regex", r"^sepa credit \d+ 9\d{3}$")], {"tags": ["sepa"]}),
        ([c("counterparty", "contains", "cafe")], {"category": cat(10), "tags": ["coffee"]}),
        ([c("amount", "between", {"max": "-2000"})],
         {"tags": ["large"], "notes": "Large payment"}),
        ([c("counterparty", "equals", "online shop eu sarl"),
          c("amount", "between", {"min": "-100", "max": "0"})], {"category": cat(11)}),
        ([c("description", "contains", "standing order")], {"tags": ["standing-order"]}),
        ([c("counterparty", "equals", "Netflix")], {"category": cat(12), "tags": ["streaming"]}),
        ([c("description", "regex", r"amazon|amzn")], {"category": cat(11)}),
        ([c("counterparty", "contains", "spotify")], {"category": cat(12)}),
        ([c("description", "contains", "salary")], {"category": income[0], "tags": ["salary"]}),
        ([c("counterparty", "regex", r"^(aldi|lidl|rewe)\b")], {"category": cat(2)}),
    ]  # fmt: skip
    for n, (conditions, actions) in enumerate(made, 1):
        rule_create(ctx=ctx, name=f"{RULE_PREFIX}{n:02d}", conditions=conditions, actions=actions)
    suggestion_settings_update(ctx=ctx, auto_apply_confidence=Decimal(AUTO_APPLY))
    print(len(made), AUTO_APPLY)  # noqa: T201


def outcome(job_id: str) -> None:
    """What rules and suggestions did to the job's rows."""
    _django()
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FILTER (WHERE category_id IS NOT NULL), "
            "count(*) FILTER (WHERE has_tags), count(*) FILTER (WHERE notes <> ''), "
            "(SELECT count(*) FROM suggestions_appliedsuggestion WHERE import_job_id = %s) "
            "FROM ledger_transaction WHERE import_job_id = %s",
            [int(job_id), int(job_id)],
        )
        print(*cur.fetchone())  # noqa: T201


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


def floor(job_id: str, what: str = "") -> None:
    """Seconds the database alone needs to put the job's rows into the ledger: the same rows (a
    TEMP copy with fresh ids) inserted with one INSERT … SELECT, every index kept up and every
    foreign key checked, then rolled back. No import of these rows can be faster.

    ``all``: also what else the job wrote for those rows, each with one INSERT … SELECT after the
    rows, in the same rolled-back transaction: their history rows, tag links and applied
    suggestions (what rules and auto-apply add). Prints "secs rows [history tags applied]"."""
    _django()
    from django.db import connection, transaction

    class Rollback(Exception):
        pass

    def columns(cur, table: str, skip: str) -> str:
        cur.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum",
            [table],
        )
        return ", ".join(f'"{name}"' for (name,) in cur.fetchall() if name != skip)

    counts: list[int] = []
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL jit = off")
            cur.execute(
                "CREATE TEMP TABLE bench_floor ON COMMIT DROP AS "
                "SELECT * FROM ledger_transaction WHERE import_job_id = %s",
                [int(job_id)],
            )
            cur.execute("SELECT max(id) FROM ledger_transaction")
            offset = cur.fetchone()[0]
            cur.execute("UPDATE bench_floor SET id = id + %s", [offset])
            copies = []
            if what == "all":
                # Each copy refers to the new rows (ids moved by the same offset).
                rows = "SELECT id FROM ledger_transaction WHERE import_job_id = %s"
                tags = '"transaction_id", "tag_id"'
                for table, cols, where, key in (
                    ("ledger_historicaltransaction",
                     columns(cur, "ledger_historicaltransaction", "history_id"),
                     f"id IN ({rows})", "id"),
                    ("ledger_transaction_tags", tags, f"transaction_id IN ({rows})",
                     "transaction_id"),
                    ("suggestions_appliedsuggestion",
                     columns(cur, "suggestions_appliedsuggestion", "id"), "import_job_id = %s",
                     "transaction_id"),
                ):  # fmt: skip
                    temp = f"bench_floor_{len(copies)}"
                    cur.execute(
                        f"CREATE TEMP TABLE {temp} ON COMMIT DROP AS "  # noqa: S608 - names
                        f"SELECT {cols} FROM {table} WHERE {where}",
                        [int(job_id)],
                    )
                    cur.execute(f"UPDATE {temp} SET {key} = {key} + %s", [offset])  # noqa: S608
                    cur.execute(f"ANALYZE {temp}")
                    copies.append(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {temp}")  # noqa: S608
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # checked in the timing, not at COMMIT
            started = time.perf_counter()
            cur.execute("INSERT INTO ledger_transaction SELECT * FROM bench_floor")
            counts.append(cur.rowcount)
            for sql in copies:
                cur.execute(sql)
                counts.append(cur.rowcount)
            elapsed = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    print(f"{elapsed:.3f}", *counts)  # noqa: T201


if __name__ == "__main__":
    commands = {"csv": csv_write, "setup": setup, "run": run, "rawcopy": rawcopy,
                "floor": floor, "cleanup": cleanup, "history": history, "rules": rules,
                "outcome": outcome}  # fmt: skip
    commands[sys.argv[1]](*sys.argv[2:])
