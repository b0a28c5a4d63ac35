"""``manage.py import_transactions FILE --org SLUG --account ID``: the API's code path, run here.

The job is created as the API creates it, then run in this process (not sent to a worker), with
a progress bar on stderr. The org's first owner stands in as the importing user. ``--mapping``
takes the API's mapping (a JSON object, or ``@file.json``), checked as the API checks it;
``--locale`` sets its locale. Each invalid row is printed with its message and value.
"""

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from kore.core.exceptions import KoreError
from kore.imports.apis import MappingInput
from kore.imports.models import ImportJob
from kore.imports.readers.csv_reader import LOCALES
from kore.imports.services import import_job_create, import_job_run
from kore.orgs.models import Membership, Organization, Role
from kore.orgs.scoping import OrgContext


class Command(BaseCommand):
    help = (
        "Import a bank statement (CSV, XLSX, ODS, OFX, QFX, CAMT.052/053/054, MT940/942, QIF) "
        "into an account."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--org", required=True, help="Organisation slug.")
        parser.add_argument("--account", required=True, type=int, help="Account id.")
        parser.add_argument("--format", default="", choices=["", *ImportJob.Format.values])
        parser.add_argument("--mode", default=ImportJob.Mode.ALL_OR_NOTHING,
                            choices=ImportJob.Mode.values)  # fmt: skip
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument(
            "--mapping", default="",
            help='CSV/spreadsheet column mapping as JSON, e.g. \'{"date": "Booking date", '
            '"amount": 5}\', or @FILE holding it.',
        )  # fmt: skip
        parser.add_argument("--locale", default="", choices=["", *sorted(LOCALES)],
                            help="Date order and decimal mark of a CSV (e.g. de-DE).")  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        ctx = self._context(options["org"])
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        mapping = self._mapping(options["mapping"], options["locale"])
        try:
            with path.open("rb") as handle:
                job = import_job_create(
                    ctx=ctx, file=File(handle, name=path.name), account=options["account"],
                    format=options["format"], mode=options["mode"], dry_run=options["dry_run"],
                    mapping=mapping, enqueue=False,
                )  # fmt: skip
        except KoreError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self._run(job.pk)

    def _mapping(self, text: str, locale: str) -> dict[str, Any]:
        if text.startswith("@"):
            try:
                text = Path(text[1:]).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"Cannot read the mapping file {text[1:]}.") from exc
        try:
            value = json.loads(text) if text else {}
        except json.JSONDecodeError as exc:
            raise CommandError(f"--mapping is not JSON: {exc.msg} at character {exc.pos}.") from exc
        if not isinstance(value, dict):
            raise CommandError("--mapping is a JSON object.")
        if locale:
            value["locale"] = locale
        checked = MappingInput(data=value)
        if not checked.is_valid():
            problems = [
                f"{field}: {error.code}: {error}"
                for field, errors in checked.errors.items()
                for error in errors
            ]
            raise CommandError("Invalid mapping: " + "; ".join(problems))
        return dict(checked.validated_data)

    def _context(self, slug: str) -> OrgContext:
        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            raise CommandError(f"No organisation {slug!r}.")
        owner = Membership.objects.filter(organization=org, role=Role.OWNER).order_by("pk").first()
        if owner is None:
            raise CommandError(f"Organisation {slug!r} has no owner.")
        return OrgContext(org, Role.OWNER, owner.user, None)

    def _run(self, job_id: int) -> None:
        bar = tqdm(unit=" rows", desc="import", disable=None)

        def progress(job: ImportJob) -> None:
            bar.total = job.rows_total
            bar.update(job.rows_read - bar.n)

        import_job_run(job_id=job_id, progress=progress)
        bar.close()
        job = ImportJob.objects.get(pk=job_id)
        summary = (
            f"import {job.pk}: {job.status}; created {job.created_count}, duplicates skipped "
            f"{job.duplicate_count}, invalid {job.invalid_count}"
        )
        for error in job.errors[:20]:
            value = f" (value {error['value']!r})" if error.get("value") else ""
            self.stderr.write(
                f"  line {error['line']} {error['column']}: {error['code']}: "
                f"{error['message']}{value}"
            )
        if len(job.errors) > 20:
            self.stderr.write(f"  … {job.invalid_count - 20} more invalid rows")
        if job.status != ImportJob.Status.DONE:
            raise CommandError(f"{summary}: {job.error_code}: {job.error_message}")
        self.stdout.write(summary)
