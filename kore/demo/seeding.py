"""Demo/benchmark data: organisations with accounts, a category tree, tags and many transactions.

Seeded organisations have slugs ``seed-01``, ``seed-02``… and owners ``owner@seed-01.seed.kore``;
``reset_seeded`` removes exactly those. Given the same ``seed`` and ``end`` the rows are identical.

On PostgreSQL the reference rows (organisations, accounts, categories, tags) go in through the ORM
and the transactions, transfers, split lines and tag links are made inside the database, one
set-based statement per organisation, two organisations at a time (``seeding_pg``); ids are
reserved from the sequences first, ``change_seq`` set, ``LedgerState`` moved past them, the
transaction table's secondary indexes built once afterwards, then ``ANALYZE``. The same rows are
then copied into unindexed TEMP tables to show the ceiling the seeding is measured against. On
other databases rows are made in Python and go in with ``bulk_create`` in batches. Seeded rows
get no history records (``simple_history`` snapshots are for changes made through the services).
"""

import random
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import DatabaseError, connection, transaction

from kore.ledger.models import (
    Account,
    Category,
    LedgerState,
    Split,
    Statement,
    Tag,
    Transaction,
    Transfer,
)  # fmt: skip
from kore.orgs.models import Membership, Organization, Role, User

from . import seeding_pg

SLUG_PREFIX = "seed-"
EMAIL_DOMAIN = "seed.kore"
DAYS = 3 * 365

# Columns of one transaction row, in COPY order.
TX_COLUMNS = (
    "id", "organization_id", "account_id", "occurred_on", "amount", "currency", "description",
    "counterparty", "category_id", "reference", "notes", "metadata", "status", "transfer_id",
    "statement_id", "created_by_id", "created_by_token_id", "created_at", "updated_at", "version",
    "change_seq", "deleted_at", "has_splits", "has_tags",
)  # fmt: skip

CURRENCIES = ("EUR", "GBP", "USD", "JPY")
PER_EUR = {"EUR": 1.0, "GBP": 0.85, "USD": 1.08, "JPY": 160.0}
ACCOUNT_NAMES = (
    ("Current account", Account.Kind.BANK),
    ("Business card", Account.Kind.CARD),
    ("Savings", Account.Kind.SAVINGS),
    ("Petty cash", Account.Kind.CASH),
    ("Travel card", Account.Kind.CARD),
    ("Equipment loan", Account.Kind.LOAN),
)
TAGS = (
    "reimbursable", "tax-deductible", "recurring", "client-a", "client-b", "project-x",
    "travel", "review", "q-end", "shared", "urgent", "personal",
)  # fmt: skip

# (root, kind, {child: [grandchildren]}): 31 categories, depth ≤ 3.
TREE: tuple[tuple[str, str, dict[str, list[str]]], ...] = (
    ("Income", "income", {"Salary": [], "Consulting": ["Retainers", "Projects"], "Interest": []}),
    ("Housing", "expense", {"Rent": [], "Utilities": ["Electricity", "Water", "Internet"]}),
    ("Food", "expense", {"Groceries": [], "Restaurants": ["Coffee", "Lunch"]}),
    ("Transport", "expense", {"Fuel": [], "Public transport": [], "Taxi": []}),
    ("Office", "expense", {"Software": ["Subscriptions"], "Hardware": [], "Supplies": []}),
    ("Travel", "expense", {"Flights": [], "Hotels": []}),
    ("Health", "expense", {"Pharmacy": []}),
    ("Transfers", "transfer", {}),
)

# Spending/earning patterns: category, weight, counterparties, descriptions, amount range in EUR.
PATTERNS: tuple[tuple[str, int, tuple[str, ...], tuple[str, ...], float, float], ...] = (
    ("Salary", 2, ("Acme Payroll", "Globex Ltd"), ("Salary {m}", "Payroll {m}"), 2500, 6500),
    (
        "Retainers",
        2,
        ("Initech", "Umbrella Corp", "Hooli"),
        ("Retainer {m}", "Invoice {r}"),
        800,
        4000,
    ),
    (
        "Projects",
        2,
        ("Stark Industries", "Wayne Enterprises"),
        ("Project milestone", "Invoice {r}"),
        500,
        9000,
    ),
    ("Interest", 1, ("Bank",), ("Interest {m}",), 0.5, 40),
    ("Rent", 2, ("Landlord Properties", "City Lets"), ("Rent {m}", "Office rent {m}"), 700, 2400),
    ("Electricity", 2, ("EDF", "Octopus Energy", "Vattenfall"), ("Electricity bill {m}",), 40, 220),
    ("Water", 1, ("Thames Water", "Veolia"), ("Water bill {m}",), 15, 80),
    ("Internet", 2, ("BT", "Vodafone", "Orange"), ("Broadband {m}", "Fibre {m}"), 25, 70),
    (
        "Groceries",
        22,
        ("Tesco", "Lidl", "Aldi", "Carrefour", "Rewe", "Sainsbury's", "Albert Heijn"),
        ("Card payment {cp}", "{cp} store {n}", "Contactless {cp}"),
        4,
        180,
    ),
    (
        "Coffee",
        14,
        ("Pret A Manger", "Starbucks", "Costa", "Local roastery"),
        ("Card payment {cp}", "Contactless {cp}"),
        2,
        12,
    ),
    (
        "Lunch",
        10,
        ("Leon", "Wagamama", "Itsu", "Sushi bar", "Deli 24"),
        ("Team lunch", "Lunch at {cp}", "Card payment {cp}"),
        8,
        90,
    ),
    (
        "Fuel",
        5,
        ("Shell", "BP", "Esso", "TotalEnergies"),
        ("Fuel {cp}", "Card payment {cp}"),
        30,
        120,
    ),
    (
        "Public transport",
        8,
        ("TfL", "SNCF", "Deutsche Bahn", "NS"),
        ("Ticket {cp}", "Travelcard"),
        2,
        95,
    ),
    ("Taxi", 4, ("Uber", "Bolt", "FreeNow"), ("Ride {cp}", "Trip {n}"), 7, 60),
    (
        "Subscriptions",
        6,
        ("GitHub", "Slack", "Notion", "Adobe", "Figma", "AWS"),
        ("{cp} subscription {m}", "{cp} invoice {r}"),
        5,
        400,
    ),
    ("Hardware", 1, ("Apple", "Dell", "Amazon"), ("Laptop", "Monitor", "Order {r}"), 60, 2800),
    ("Supplies", 3, ("Amazon", "Staples", "Viking"), ("Order {r}", "Office supplies"), 5, 150),
    ("Flights", 1, ("British Airways", "KLM", "easyJet", "Lufthansa"), ("Flight {r}",), 60, 900),
    ("Hotels", 1, ("Marriott", "Ibis", "Booking.com"), ("Hotel stay", "Booking {r}"), 70, 700),
    ("Pharmacy", 2, ("Boots", "DM", "Pharmacy"), ("Card payment {cp}",), 3, 60),
)
INCOME = frozenset({"Salary", "Retainers", "Projects", "Interest"})
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class OrgRefs:
    organization: Organization
    owner: User
    accounts: list[tuple[int, str]]  # (id, currency)
    categories: dict[str, int]
    leaves: list[int]  # expense categories a split line may use
    tags: list[int]


@dataclass
class Generated:
    """One organisation's rows for bulk_create (the embedded runtime)."""

    tx_rows: list[tuple[Any, ...]] = field(default_factory=list)
    splits: list[tuple[int, int, str, str, int]] = field(default_factory=list)
    tag_links: list[tuple[int, int]] = field(default_factory=list)
    transfers: list[tuple[int, int, str]] = field(default_factory=list)
    count: int = 0
    last_seq: int = 0


@dataclass
class Report:
    orgs: int = 0
    transactions: int = 0
    splits: int = 0
    tag_links: int = 0
    transfers: int = 0
    reference_s: float = 0.0  # organisations, owners, accounts, categories, tags
    generate_s: float = 0.0  # rows made in Python (the embedded runtime only)
    load_s: float = 0.0  # transactions, transfers, splits and tag links written
    index_s: float = 0.0  # the transaction table's indexes built again (PostgreSQL)
    analyze_s: float = 0.0
    wall_s: float = 0.0  # all of the above, end to end
    raw_copy_s: float | None = None  # every seeded row into unindexed TEMP tables
    backend: str = ""
    organization_ids: list[int] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def seeded_slugs(orgs: int) -> list[str]:
    return [f"{SLUG_PREFIX}{i:02d}" for i in range(1, orgs + 1)]


def owner_email(slug: str) -> str:
    return f"owner@{slug}.{EMAIL_DOMAIN}"


# --- Reset ---------------------------------------------------------------------------------------
def reset_seeded() -> int:
    """Delete every seeded organisation and owner; the ledger rows go in set-based SQL first."""
    orgs = list(
        Organization.objects.filter(slug__startswith=SLUG_PREFIX).values_list("pk", flat=True)
    )
    with transaction.atomic():
        if orgs:
            tx = Transaction._meta.db_table
            live = f'SELECT id FROM "{tx}" WHERE organization_id = ANY(%s)'  # noqa: S608
            with connection.cursor() as cur:
                for table in (Split._meta.db_table, Transaction.tags.through._meta.db_table):
                    cur.execute(
                        f'DELETE FROM "{table}" WHERE transaction_id IN ({live})',  # noqa: S608
                        [orgs],
                    )
                cur.execute(f'DELETE FROM "{tx}" WHERE organization_id = ANY(%s)', [orgs])  # noqa: S608
            for model in apps.get_app_config("ledger").get_models():
                if model.__name__.startswith("Historical"):
                    model._default_manager.filter(organization_id__in=orgs).delete()
            Statement.objects.filter(organization_id__in=orgs).delete()
            for depth in range(Category.MAX_DEPTH, 0, -1):  # parents are PROTECTed
                Category.objects.filter(organization_id__in=orgs, depth=depth).delete()
            Organization.objects.filter(pk__in=orgs).delete()
        User.objects.filter(email__endswith=f".{EMAIL_DOMAIN}").delete()
    if orgs and connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Give the space back now: the next seeding would otherwise scan the dead rows while
        # building its indexes (VACUUM also truncates the table's empty tail).
        with connection.cursor() as cur:
            for model in (Transaction, Split, Transaction.tags.through, Transfer):
                cur.execute(f'VACUUM "{model._meta.db_table}"')
    return len(orgs)


# --- Reference data ------------------------------------------------------------------------------
def _org_create(slug: str, index: int, rng: random.Random) -> OrgRefs:
    owner = User(email=owner_email(slug), full_name=f"Owner {index:02d}")
    owner.set_unusable_password()
    owner.save()
    currency = CURRENCIES[index % 3]  # EUR, GBP, USD as the home currency
    org = Organization.objects.create(
        name=f"Seeded Company {index:02d}", slug=slug, default_currency=currency
    )
    Membership.objects.create(organization=org, user=owner, role=Role.OWNER)
    LedgerState.objects.create(organization=org, version=0)

    accounts: list[tuple[int, str]] = []
    for n, (name, kind) in enumerate(ACCOUNT_NAMES[: rng.randint(3, 6)]):
        cur = currency if n == 0 or rng.random() < 0.5 else rng.choice(CURRENCIES)
        account = Account.objects.create(
            organization=org, name=f"{name} ({cur})", kind=kind, currency=cur,
            opening_balance=Decimal(rng.randrange(0, 20_000) if cur != "JPY" else 0),
        )  # fmt: skip
        accounts.append((account.pk, cur))

    # The tree one level at a time, in three inserts (no history rows: seeded, not edited).
    roots = Category.objects.bulk_create(
        [Category(organization=org, name=root, kind=ckind, depth=1) for root, ckind, _ in TREE]
    )
    middle = Category.objects.bulk_create(
        [
            Category(organization=org, parent=r, name=child, kind=r.kind, depth=2)
            for r, (_, _, children) in zip(roots, TREE, strict=True)
            for child in children
        ]
    )
    by_name = {c.name: c for c in middle}
    bottom = Category.objects.bulk_create(
        [
            Category(organization=org, parent=by_name[child], name=g, kind=r.kind, depth=3)
            for r, (_, _, children) in zip(roots, TREE, strict=True)
            for child, grandchildren in children.items()
            for g in grandchildren
        ]
    )
    categories = {c.name: c.pk for c in (*roots, *middle, *bottom)}
    leaves: list[int] = []
    for _, ckind, children in TREE:
        if ckind != "expense":
            continue
        for child, grandchildren in children.items():
            leaves.extend(categories[g] for g in grandchildren)
            if not grandchildren:
                leaves.append(categories[child])
    tags = Tag.objects.bulk_create([Tag(organization=org, name=t) for t in TAGS])
    return OrgRefs(org, owner, accounts, categories, leaves, [t.pk for t in tags])


def _reserve_ids(model: type[Any], count: int) -> int:
    """First of ``count`` consecutive ids taken from the model's sequence (PostgreSQL)."""
    if count == 0:
        return 0
    table = model._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
            "nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
            [table, table, count],
        )
        last = int(cur.fetchone()[0])
    return last - count + 1


def _next_id_sqlite(model: type[Any]) -> int:
    last = model._default_manager.order_by("-pk").values_list("pk", flat=True).first()
    return int(last or 0) + 1


# --- Row generation ------------------------------------------------------------------------------
def _money(eur: float, currency: str) -> str:
    value = eur * PER_EUR[currency]
    return f"{value:.0f}" if currency == "JPY" else f"{value:.2f}"


def _status(age_days: int, r: float) -> str:
    if age_days > 60:
        return "reconciled" if r < 0.7 else "cleared"
    if age_days > 7:
        return "cleared" if r < 0.8 else "pending"
    return "pending" if r < 0.6 else "cleared"


def _generate(
    refs: OrgRefs, count: int, first_tx_id: int, first_transfer_id: int, end: date,
    rng: random.Random,
) -> Generated:  # fmt: skip
    """``count`` transactions for one organisation, oldest first, ids ascending with the date."""
    out = Generated()
    org_id, owner_id = refs.organization.pk, refs.owner.pk
    start = end - timedelta(days=DAYS - 1)
    day_str = [(start + timedelta(days=d)).isoformat() for d in range(DAYS)]
    transfer_cat = refs.categories["Transfers"]
    patterns = [(refs.categories[p[0]], *p[2:]) for p in PATTERNS]
    weights = [p[1] for p in PATTERNS]
    income = {refs.categories[n] for n in INCOME}
    account_ids = list(refs.accounts)
    account_weights = [8, 4, 2, 1, 1, 1][: len(account_ids)]

    pairs = count // 100 if len(account_ids) > 1 else 0  # ~2 % of rows are transfer legs
    singles = count - 2 * pairs
    days = sorted(rng.randrange(DAYS) for _ in range(singles + pairs))
    kinds = rng.choices(range(len(patterns) + 1), [*weights, 0], k=len(days))
    transfer_at = set(rng.sample(range(len(days)), pairs))
    accounts = rng.choices(account_ids, account_weights, k=len(days))

    tx_id, seq, transfer_id = first_tx_id, 0, first_transfer_id
    rand = rng.random

    def emit(
        day: int, account: tuple[int, str], amount: str, desc: str, cp: str, cat: int | None,
        ref: str, notes: str, meta: str, transfer: int | None, splits: bool = False,
        tags: bool = False,
    ) -> None:  # fmt: skip
        nonlocal tx_id
        clock = int(rand() * 43_200) + 28_800  # 08:00-20:00
        ts = f"{day_str[day]} {clock // 3600:02d}:{clock // 60 % 60:02d}:{clock % 60:02d}+00"
        status = _status(DAYS - 1 - day, rand())
        out.tx_rows.append(
            (tx_id, org_id, account[0], day_str[day], amount, account[1], desc, cp, cat, ref,
             notes, meta, status, transfer, None, owner_id, None, ts, ts, 1, seq, None,
             splits, tags)
        )  # fmt: skip
        tx_id += 1

    for i, day in enumerate(days):
        seq += 1
        if i in transfer_at:
            src, dst = rng.sample(account_ids, 2)
            eur = round(rng.uniform(50, 3000), 2)
            out_amt, in_amt = _money(eur, src[1]), _money(eur, dst[1])
            rate = Decimal(in_amt) / Decimal(out_amt)
            out.transfers.append((transfer_id, org_id, f"{rate:.10f}"))
            desc = f"Transfer to {dst[1]} account"
            for acc, amt in ((src, f"-{out_amt}"), (dst, in_amt)):
                emit(day, acc, amt, desc, "", transfer_cat, "", "", "{}", transfer_id)
            transfer_id += 1
            continue
        cat, cps, descs, lo, hi = patterns[kinds[i]]
        cp = cps[int(rand() * len(cps))]
        desc = descs[int(rand() * len(descs))]
        if "{" in desc:
            desc = desc.format(
                cp=cp, m=f"{MONTHS[int(day_str[day][5:7]) - 1]} {day_str[day][:4]}",
                r=f"INV-{int(rand() * 90000) + 10000}", n=int(rand() * 900) + 100,
            )  # fmt: skip
        account = accounts[i]
        eur = lo + (hi - lo) * rand() ** 2  # most payments are small
        amount = _money(eur, account[1])
        if cat not in income:
            amount = "-" + amount
        if amount.lstrip("-") in ("0", "0.00"):
            amount = "1" if account[1] == "JPY" else "0.01"
        ref = f"REF{int(rand() * 1_000_000):06d}" if rand() < 0.2 else ""
        notes = "Check with accounting" if rand() < 0.02 else ""
        meta = '{"source": "bank-import"}' if rand() < 0.05 else "{}"
        split_it = cat not in income and rand() < 0.03 and refs.leaves
        if split_it:
            _split(out, tx_id, amount, account[1], refs.leaves, rng)
            cat_or_none: int | None = None
        else:
            cat_or_none = cat
        tagged = rand() < 0.08
        if tagged:
            for tag in rng.sample(refs.tags, 1 + int(rand() * 2)):
                out.tag_links.append((tx_id, tag))
        emit(
            day, account, amount, desc, cp, cat_or_none, ref, notes, meta, None,
            splits=bool(split_it), tags=tagged,
        )  # fmt: skip
    out.count = tx_id - first_tx_id
    out.last_seq = seq
    return out


def _split(
    out: Generated, tx_id: int, amount: str, currency: str, leaves: list[int], rng: random.Random
) -> None:
    """Two or three lines summing exactly to ``amount`` (all negative)."""
    places = 0 if currency == "JPY" else 2
    unit = Decimal(1).scaleb(-places)
    total = Decimal(amount)
    parts = 2 + int(rng.random() < 0.4)
    lines: list[Decimal] = []
    left = total
    for _ in range(parts - 1):
        share = (total * Decimal(rng.uniform(0.2, 0.5))).quantize(unit)
        if share == 0 or abs(share) >= abs(left):
            break
        lines.append(share)
        left -= share
    lines.append(left)
    cats = rng.sample(leaves, min(len(lines), len(leaves)))
    for pos, (value, cat) in enumerate(zip(lines, cats, strict=False)):
        out.splits.append((tx_id, cat, f"{value:.{places}f}", f"Part {pos + 1}", pos))


# --- Loading -------------------------------------------------------------------------------------
def seed(
    *,
    orgs: int,
    transactions: int,
    seed: int = 0,
    end: date | None = None,
    measure_raw_copy: bool = True,
    log: Callable[[str], None] = print,
) -> Report:
    """Create ``orgs`` seeded organisations holding ``transactions`` transactions in all."""
    end = end or date.today()  # noqa: DTZ011 - a calendar day for demo data
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    report = Report(backend=connection.vendor)
    _checkpoint()  # start from quiet: not paying for an earlier run's (or --reset's) writes
    started = time.perf_counter()
    counts = [
        transactions // orgs + (1 if i <= transactions % orgs else 0) for i in range(1, orgs + 1)
    ]
    if connection.vendor == "postgresql":
        _seed_postgresql(report, counts, seed, end, rng, log)
    else:
        _seed_in_python(report, counts, end, rng, log)
    report.wall_s = time.perf_counter() - started
    if connection.vendor == "postgresql" and measure_raw_copy and report.transactions:
        report.raw_copy_s = _raw_copy(report.organization_ids)
    return report


def _seed_postgresql(
    report: Report, counts: list[int], seed: int, end: date, rng: random.Random,
    log: Callable[[str], None],
) -> None:  # fmt: skip
    """Reference rows through the ORM; transactions in SQL on two connections; indexes after."""
    bypass_fk = _is_superuser()
    if bypass_fk:
        report.lines.append(
            "FK triggers skipped while loading (superuser, rows valid by construction)"
        )

    def load(plan: seeding_pg.OrgPlan) -> seeding_pg.OrgResult:
        try:
            with transaction.atomic():
                if bypass_fk:
                    # Rows reference only what exists already or what this statement writes:
                    # skip the per-row FK triggers (pg_restore --disable-triggers does the same).
                    with connection.cursor() as cur:
                        cur.execute("SET LOCAL session_replication_role = replica")
                result = seeding_pg.generate(plan)
                LedgerState.objects.filter(organization_id=plan.organization_id).update(
                    version=result.last_seq
                )
            return result
        finally:
            connection.close()  # this thread's own connection

    rebuild = _drop_indexes()
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=2) as pool:
            # Each organisation's statement starts as soon as its reference rows exist, so the
            # ORM work here overlaps with the writing on the two connections.
            pending = []
            slugs = seeded_slugs(len(counts))
            for index, (slug, count) in enumerate(zip(slugs, counts, strict=True), start=1):
                ref_started = time.perf_counter()
                with transaction.atomic():
                    refs = _org_create(slug, index, rng)
                plan = _plan(refs, count, seed, index, end)
                report.reference_s += time.perf_counter() - ref_started
                report.organization_ids.append(plan.organization_id)
                pending.append((slug, plan, pool.submit(load, plan)))
            for slug, plan, future in pending:
                result = future.result()
                report.orgs += 1
                report.transactions += result.transactions
                report.transfers += result.transfers
                report.splits += result.splits
                report.tag_links += result.tag_links
                log(f"  {slug}: {result.transactions:,} transactions, "
                    f"{len(plan.accounts)} accounts")  # fmt: skip
        report.load_s = time.perf_counter() - started
    finally:  # even after a failure: the table never stays without its indexes
        started = time.perf_counter()
        # The small tables' statistics need no index: they fill the builders' idle tail.
        small = (Split, Transaction.tags.through, Transfer)
        _parallel(rebuild + [f'ANALYZE "{m._meta.db_table}"' for m in small], maintenance=True)
        report.index_s = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cur:  # after the indexes: their expressions get statistics too
        cur.execute(f'ANALYZE "{Transaction._meta.db_table}"')
    report.analyze_s = time.perf_counter() - started


def _plan(refs: OrgRefs, count: int, seed: int, index: int, end: date) -> seeding_pg.OrgPlan:
    pairs = count // 100 if len(refs.accounts) > 1 else 0
    return seeding_pg.OrgPlan(
        organization_id=refs.organization.pk,
        owner_id=refs.owner.pk,
        count=count,
        first_tx_id=_reserve_ids(Transaction, count),
        first_transfer_id=_reserve_ids(Transfer, pairs),
        salt=(seed * 1000 + index) * 64,
        start=end - timedelta(days=DAYS - 1),
        days=DAYS,
        accounts=refs.accounts,
        account_weights=[8, 4, 2, 1, 1, 1][: len(refs.accounts)],
        transfer_category=refs.categories["Transfers"],
        patterns=[
            (refs.categories[cat], weight, cat in INCOME, list(cps), list(descs), lo, hi)
            for cat, weight, cps, descs, lo, hi in PATTERNS
        ],
        leaves=refs.leaves,
        tags=refs.tags,
        per_eur=PER_EUR,
    )


def _seed_in_python(
    report: Report, counts: list[int], end: date, rng: random.Random, log: Callable[[str], None]
) -> None:
    """The embedded runtime (SQLite): rows made in Python and written with ``bulk_create``."""
    for index, (slug, count) in enumerate(zip(seeded_slugs(len(counts)), counts, strict=True), 1):
        with transaction.atomic():
            refs = _org_create(slug, index, rng)
            first_tx, first_transfer = _next_id_sqlite(Transaction), _next_id_sqlite(Transfer)
            started = time.perf_counter()
            gen = _generate(refs, count, first_tx, first_transfer, end, rng)
            report.generate_s += time.perf_counter() - started
            started = time.perf_counter()
            Transfer.objects.bulk_create(
                [Transfer(id=t, organization_id=o, rate=Decimal(r)) for t, o, r in gen.transfers],
                batch_size=2000,
            )
            _bulk_create_transactions(gen.tx_rows)
            Split.objects.bulk_create(
                [
                    Split(transaction_id=t, category_id=c, amount=Decimal(a), memo=m, position=p)
                    for t, c, a, m, p in gen.splits
                ],
                batch_size=2000,
            )
            through = Transaction.tags.through
            through.objects.bulk_create(
                [through(transaction_id=t, tag_id=g) for t, g in gen.tag_links], batch_size=2000
            )
            LedgerState.objects.filter(organization=refs.organization).update(version=gen.last_seq)
            report.load_s += time.perf_counter() - started
        report.orgs += 1
        report.transactions += gen.count
        report.splits += len(gen.splits)
        report.tag_links += len(gen.tag_links)
        report.transfers += len(gen.transfers)
        log(f"  {slug}: {gen.count:,} transactions, {len(refs.accounts)} accounts")


def _drop_indexes() -> list[str]:
    """Drop the transaction table's dense secondary indexes; return the statements to rebuild them.

    Building an index once over the loaded rows (sorted, in bulk) costs a fraction of keeping it
    up to date row by row; the trigram GIN indexes most of all. Constraint indexes stay, and so do
    the sparse partial ones (``… IS NOT NULL``): seeded rows barely touch them, and rebuilding one
    would cost a whole scan of the table.
    """
    with connection.cursor() as cur:
        cur.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.tablename = %s AND i.schemaname = current_schema() AND NOT EXISTS ("
            "  SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) "
            "AND i.indexdef NOT LIKE '%%IS NOT NULL)%%'",
            [Transaction._meta.db_table],
        )
        found = cur.fetchall()
        for name, _ in found:
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')
    # Longest first (GIN, then wide btrees), so the two builders finish close together.
    return sorted((definition for _, definition in found), key=_build_cost, reverse=True)


def _build_cost(definition: str) -> tuple[bool, int]:
    return "gin" in definition, definition.count(",")


def _parallel(statements: list[str], *, maintenance: bool = False) -> None:
    """Run the statements two at a time, one connection per thread (index builds, ANALYZE)."""

    def run(statement: str) -> None:
        try:
            with connection.cursor() as cur:
                if maintenance:  # two builders already keep both cores busy
                    cur.execute("SET maintenance_work_mem = '64MB'")
                    cur.execute("SET max_parallel_maintenance_workers = 0")
                cur.execute(statement)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(run, statement) for statement in statements]:
            future.result()


def _is_superuser() -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cur.fetchone()
    return bool(row and row[0])


def _checkpoint() -> None:
    """CHECKPOINT where allowed (superuser or pg_checkpoint), so a timing starts from quiet."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    try:
        with connection.cursor() as cur:
            cur.execute("CHECKPOINT")
    except DatabaseError:
        pass  # not allowed: measured all the same, only noisier


def _copy(sql: str, chunks: Iterable[bytes]) -> None:
    """``COPY … FROM STDIN`` fed with the chunks (also used by bench/imports.py)."""
    with connection.cursor() as cur:
        raw = cur.cursor  # the psycopg 3 cursor under Django's wrapper
        with raw.copy(sql) as copy:
            for chunk in chunks:
                copy.write(chunk)


def _raw_copy(organization_ids: list[int], runs: int = 3) -> float:
    """Seconds to COPY every seeded row into TEMP tables with no indexes (best run).

    The rows the seeding wrote (transactions, transfers, split lines, tag links), as stored, are
    read out first (text format, in memory, not timed), then copied into one unindexed TEMP table
    per table, ``runs`` times after a checkpoint, and the fastest run counts: the ceiling any
    loader of these rows is measured against, at its highest.
    """
    tx = Transaction._meta.db_table
    ids = f'SELECT id FROM "{tx}" WHERE organization_id = ANY(%s)'  # noqa: S608
    sources = [
        (tx, "organization_id = ANY(%s)"),
        (Transfer._meta.db_table, "organization_id = ANY(%s)"),
        (Split._meta.db_table, f"transaction_id IN ({ids})"),
        (Transaction.tags.through._meta.db_table, f"transaction_id IN ({ids})"),
    ]
    dumps: list[tuple[str, list[bytes]]] = []
    with transaction.atomic(), connection.cursor() as cur:
        raw = cur.cursor  # the psycopg 3 cursor under Django's wrapper
        for table, where in sources:
            select = f'SELECT * FROM "{table}" WHERE {where} ORDER BY 1'  # noqa: S608
            with raw.copy(f"COPY ({select}) TO STDOUT", [organization_ids]) as copy:
                dumps.append((table, [bytes(chunk) for chunk in copy]))
    _checkpoint()
    best = float("inf")
    for _ in range(runs):
        with transaction.atomic(), connection.cursor() as cur:
            for n, (table, _) in enumerate(dumps):
                cur.execute(
                    f'CREATE TEMP TABLE seed_scratch_{n} (LIKE "{table}" INCLUDING DEFAULTS) '
                    "ON COMMIT DROP"
                )
            started = time.perf_counter()
            for n, (_, chunks) in enumerate(dumps):
                _copy(f"COPY seed_scratch_{n} FROM STDIN", chunks)
            best = min(best, time.perf_counter() - started)
            for n in range(len(dumps)):
                cur.execute(f"DROP TABLE seed_scratch_{n}")
    return best


def _bulk_create_transactions(rows: list[tuple[Any, ...]]) -> None:
    batch: list[Transaction] = []
    for row in rows:
        values = dict(zip(TX_COLUMNS, row, strict=True))
        values["amount"] = Decimal(values["amount"])
        values["metadata"] = {} if values["metadata"] == "{}" else {"source": "bank-import"}
        batch.append(Transaction(**values))
        if len(batch) >= 2000:
            Transaction.objects.bulk_create(batch)
            batch.clear()
    if batch:
        Transaction.objects.bulk_create(batch)
