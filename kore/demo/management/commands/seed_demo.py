"""Fill the database with realistic demo data: ``manage.py seed_demo --transactions N``."""

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kore.demo import seeding
from kore.orgs.models import Organization


class Command(BaseCommand):
    help = (
        "Create seeded organisations (seed-01…) with accounts, categories, tags and transactions. "
        "Made inside PostgreSQL (bulk_create elsewhere); prints the rows/s achieved."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--transactions", type=int, default=100_000, help="In all (N).")
        parser.add_argument("--orgs", type=int, default=10, help="Organisations (M).")
        parser.add_argument(
            "--seed", type=int, default=0, help="Random seed (same seed, same rows)."
        )
        parser.add_argument(
            "--end-date", type=date.fromisoformat, default=None,
            help="Last day of the ~3 years of data (default: today).",
        )  # fmt: skip
        parser.add_argument("--reset", action="store_true", help="Wipe seeded orgs first.")
        parser.add_argument(
            "--no-raw-copy", action="store_true", help="Skip the raw COPY reference measurement."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        orgs, total = options["orgs"], options["transactions"]
        if orgs < 1 or total < 0:
            raise CommandError("--orgs must be ≥ 1 and --transactions ≥ 0.")
        if options["reset"]:
            started = time.perf_counter()
            gone = seeding.reset_seeded()
            self.stdout.write(f"Reset: {gone} seeded organisations removed in "
                              f"{time.perf_counter() - started:.1f} s.")  # fmt: skip
        existing = Organization.objects.filter(slug__startswith=seeding.SLUG_PREFIX).count()
        if existing:
            self.stdout.write(
                f"{existing} seeded organisations already exist; nothing done (use --reset)."
            )
            return
        self.stdout.write(f"Seeding {total:,} transactions in {orgs} organisations…")
        r = seeding.seed(
            orgs=orgs, transactions=total, seed=options["seed"], end=options["end_date"],
            measure_raw_copy=not options["no_raw_copy"], log=self.stdout.write,
        )  # fmt: skip
        n = max(r.transactions, 1)
        if r.index_s:  # PostgreSQL
            steps = (
                f"reference rows and rows written {r.load_s:.2f} s (the ORM's "
                f"{r.reference_s:.2f} s overlap the writing), indexes built {r.index_s:.2f} s, "
                f"ANALYZE {r.analyze_s:.2f} s"
            )
        else:
            steps = f"rows made in Python {r.generate_s:.2f} s, rows written {r.load_s:.2f} s"
        self.stdout.write(
            f"Rows: {r.transactions:,} transactions, {r.transfers:,} transfers, "
            f"{r.splits:,} split lines, {r.tag_links:,} tag links ({r.backend}).\n"
            f"Time: {steps}; {r.wall_s:.2f} s end to end.\n"
            f"Seed rate: {n / r.wall_s:,.0f} transactions/s end to end."
        )
        for line in r.lines:
            self.stdout.write(line)
        if r.raw_copy_s:
            rows = r.transactions + r.transfers + r.splits + r.tag_links
            seeded, raw = rows / r.wall_s, rows / r.raw_copy_s
            self.stdout.write(
                f"Raw COPY of the same {rows:,} rows (every table) into unindexed TEMP tables: "
                f"{raw:,.0f} rows/s ({r.raw_copy_s:.2f} s, best of 3); seeding {seeded:,.0f} "
                f"rows/s.\n"
                f"Ratio: seeding end to end = {seeded / raw:.0%} of raw COPY (target ≥ 25 %)."
            )
