"""Exports of the transaction list: CSV streamed chunk by chunk, XLSX written in openpyxl's
write-only mode (in the request up to ``KORE_EXPORT_SYNC_LIMIT`` rows, else by a worker job).

Rows are written by ``sheets``, which neutralises every text cell (a leading ``'`` before
``= + - @``, tab or CR, so a spreadsheet never runs them as formulas); amounts, dates and ids are
passed as values and stay plain.
"""

import json
import logging
import tempfile
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import IO, Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError
from django.db import transaction as db_transaction
from django.urls import reverse
from django.utils import timezone

from kore.core.jobs import job_claim, job_finish, job_heartbeat, jobs_reap
from kore.core.money import format_amount
from kore.ledger import transaction_list as tl
from kore.ledger.models import Category, Transaction
from kore.ledger.transaction_list import TransactionFilter
from kore.notifications.services import export_job_email_enqueue
from kore.orgs.models import Organization
from kore.orgs.scoping import OrgContext
from kore.webhooks.events import EXPORT_READY, publish

from .models import ExportJob
from .sheets import Cell, csv_lines, xlsx_append, xlsx_workbook

logger = logging.getLogger(__name__)

# ``splits``: the split lines as JSON, [{"category", "amount", "memo"}] (empty without splits);
# ``transfer``: the transfer both legs share, ``transfer_account`` the other leg's account and
# ``rate`` the transfer's rate (to amount = -amount x rate from the leg that left).
COLUMNS = (
    "id", "date", "account", "amount", "currency", "description", "counterparty", "category",
    "tags", "reference", "notes", "status", "splits", "transfer", "transfer_account", "rate",
)  # fmt: skip
# Excel's limit is 1,048,576 rows a sheet, the header included.
SHEET_ROWS = 1_048_575
# The mapping that imports an export back (kore.imports CSV format).
IMPORT_MAPPING: dict[str, str] = {
    "date": "date", "amount": "amount", "description": "description",
    "counterparty": "counterparty", "reference": "reference", "date_format": "%Y-%m-%d",
    "decimal": ".", "delimiter": ",", "encoding": "utf-8-sig",
}  # fmt: skip
Status = ExportJob.Status
CHUNK_ROWS = 2000
EXPORT_FIELDS = (
    "id", "occurred_on", "account__name", "amount", "currency", "description", "counterparty",
    "category__name", "reference", "notes", "status", "transfer_id", "transfer__rate",
)  # fmt: skip


def export_chunks(
    *, organization: Organization, filters: TransactionFilter, ordering: str
) -> Iterator[list[dict[str, Any]]]:
    """The list's rows for a file, ``CHUNK_ROWS`` at a time (memory stays flat), with their
    split lines' category names and each transfer leg's other account."""
    names: dict[int, str] | None = None
    for chunk in tl.chunks(
        organization=organization, filters=filters, ordering=ordering, size=CHUNK_ROWS,
        fields=EXPORT_FIELDS,
    ):  # fmt: skip
        if names is None and any(row["splits"] for row in chunk):
            names = dict(
                Category.objects.filter(organization=organization).values_list("pk", "name")
            )
        transfers = {row["transfer_id"] for row in chunk if row["transfer_id"]}
        others: dict[tuple[int, int], str] = {}
        if transfers:
            legs = Transaction.objects.filter(transfer_id__in=transfers, deleted_at__isnull=True)
            by_transfer: dict[int, list[tuple[int, str]]] = {}
            for transfer, pk, name in legs.values_list("transfer_id", "pk", "account__name"):
                by_transfer.setdefault(transfer, []).append((pk, name))
            for transfer, found in by_transfer.items():
                for pk, _ in found:
                    other = next((n for p, n in found if p != pk), "")
                    others[(transfer, pk)] = other
        for row in chunk:
            row["split_lines"] = [
                {
                    "category": (names or {}).get(split["category_id"] or 0, ""),
                    "amount": format_amount(split["amount"], row["currency"]),
                    "memo": split["memo"],
                }
                for split in row["splits"]
            ]
            row["transfer_account"] = others.get((row["transfer_id"], row["id"]), "")
        yield chunk


def filename_for(organization: Organization, extension: str) -> str:
    return f"kore-{organization.slug}-transactions-{timezone.localdate().isoformat()}.{extension}"


def _cells(row: dict[str, Any], amount: Decimal) -> list[Cell]:
    splits = row["split_lines"]
    rate = row["transfer__rate"]  # "100", never "1E+2"
    rate_cell = Decimal(format(rate.normalize(), "f")) if rate is not None else None
    return [
        row["id"], row["occurred_on"], row["account__name"] or "", amount, row["currency"],
        row["description"] or "", row["counterparty"] or "", row["category__name"] or "",
        ";".join(row["tags"] or ()), row["reference"] or "", row["notes"] or "", row["status"],
        json.dumps(splits, ensure_ascii=False) if splits else "", row["transfer_id"],
        row["transfer_account"], rate_cell,
    ]  # fmt: skip


def csv_row(row: dict[str, Any]) -> list[Cell]:
    """The amount with exactly its currency's decimals (``12.30``), as a number."""
    return _cells(row, Decimal(format_amount(row["amount"], row["currency"])))


def csv_stream(
    *, organization: Organization, filters: TransactionFilter, ordering: str = "-occurred_on"
) -> Iterator[bytes]:
    """UTF-8 (with BOM, for spreadsheets) CSV: the header at once, then one piece per chunk."""
    yield ("\ufeff" + next(csv_lines([COLUMNS]))).encode()
    for chunk in export_chunks(organization=organization, filters=filters, ordering=ordering):
        yield "".join(csv_lines(csv_row(row) for row in chunk)).encode()


def xlsx_row(row: dict[str, Any]) -> list[Cell]:
    return _cells(row, row["amount"])


def xlsx_write(
    out: IO[bytes],
    *,
    organization: Organization,
    filters: TransactionFilter,
    ordering: str = "-occurred_on",
    on_chunk: Any = None,
) -> int:
    """Write the workbook to ``out``; more than ``SHEET_ROWS`` rows continue on new sheets."""
    workbook = xlsx_workbook()
    sheet: Any = None
    in_sheet = SHEET_ROWS
    written = 0
    for chunk in export_chunks(organization=organization, filters=filters, ordering=ordering):
        for row in chunk:
            if in_sheet >= SHEET_ROWS:
                number = len(workbook.worksheets) + 1
                sheet = workbook.create_sheet(
                    "Transactions" if number == 1 else f"Transactions {number}"
                )
                xlsx_append(sheet, COLUMNS)
                in_sheet = 0
            xlsx_append(sheet, xlsx_row(row))
            in_sheet += 1
            written += 1
        if on_chunk is not None:
            on_chunk(written)
    if sheet is None:
        xlsx_append(workbook.create_sheet("Transactions"), COLUMNS)
    workbook.save(out)
    return written


def xlsx_file(
    *, organization: Organization, filters: TransactionFilter, ordering: str = "-occurred_on"
) -> IO[bytes]:
    """A complete workbook in a temporary file, rewound (the request path)."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    try:
        xlsx_write(out, organization=organization, filters=filters, ordering=ordering)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


# --- jobs ---------------------------------------------------------------------------------------
def export_job_create(
    *, ctx: OrgContext, filters: TransactionFilter, ordering: str, rows_total: int | None = None
) -> ExportJob:
    """Record a queued XLSX export and send it to the worker once committed."""
    with db_transaction.atomic():
        job = ExportJob.objects.create(
            organization=ctx.organization,
            created_by=ctx.user,
            filters=filters.to_params(),  # read back by tl.parse_filters
            ordering=ordering,
            filename=filename_for(ctx.organization, "xlsx"),
            rows_total=rows_total,
        )
        export_job_enqueue_on_commit(job_id=job.pk)
    return job


def export_job_enqueue_on_commit(*, job_id: int) -> None:
    from .tasks import run_export

    db_transaction.on_commit(lambda: run_export.delay(job_id), robust=True)


def export_job_publish(*, job: ExportJob, rows_written: int) -> None:
    """The ``export.ready`` webhook event, with the API path to download the file from."""
    kwargs = {"org_slug": job.organization.slug, "job_id": job.pk}
    payload = {
        "export": job.pk,
        "file_name": job.filename,
        "rows_written": rows_written,
        "download_path": reverse("exports:export-download", kwargs=kwargs),
    }
    publish(job.organization, EXPORT_READY, payload)


def export_job_run(*, job_id: int) -> None:
    """Claim a queued job, write the workbook, store it and mark the job done (or failed)."""
    claim = job_claim(ExportJob, job_id)
    if claim is None:
        return
    job = ExportJob.objects.select_related("organization").get(pk=job_id)

    def progress(written: int) -> None:
        job_heartbeat(ExportJob, job_id, claim, rows_written=written)

    def finish(status: str, *, error_code: str = "", error_message: str = "",
               **values: Any) -> bool:  # fmt: skip
        return job_finish(ExportJob, job_id, claim, status, code=error_code,
                          message=error_message, **values)  # fmt: skip

    try:
        if job.attempts > ExportJob.MAX_ATTEMPTS:
            finish(Status.FAILED, error_code="export_attempts_exhausted",
                   error_message=f"Gave up after {ExportJob.MAX_ATTEMPTS} attempts.")  # fmt: skip
            return
        with tempfile.TemporaryFile() as out:
            written = xlsx_write(
                out, organization=job.organization, filters=tl.parse_filters(job.filters),
                ordering=job.ordering, on_chunk=progress,
            )  # fmt: skip
            out.seek(0)
            path = default_storage.save(
                f"exports/{job.organization_id}/{uuid.uuid4().hex}.xlsx", File(out)
            )
        with db_transaction.atomic():
            done = finish(Status.DONE, file_path=path, rows_written=written, rows_total=written)
            if done:
                export_job_publish(job=job, rows_written=written)
        if not done:
            default_storage.delete(path)  # re-claimed meanwhile: the other run owns the job
        else:
            export_job_email_enqueue(job_id=job_id)  # the creator gets the download link
    except SoftTimeLimitExceeded:
        finish(Status.FAILED, error_code="export_timed_out",
               error_message="The export ran past its time limit.")  # fmt: skip
    except DatabaseError:
        raise  # transient: the job stays running
    except Exception:
        logger.exception("export %s failed", job_id)
        finish(Status.FAILED, error_code="export_internal_error",
               error_message="The export failed unexpectedly; it has been logged.")  # fmt: skip


def export_jobs_reap(*, stale_after: timedelta | None = None) -> dict[str, list[int]]:
    """Re-queue running jobs whose worker went silent, re-send queued ones left waiting, and fail
    either kind once it has used its ``ExportJob.MAX_ATTEMPTS`` attempts (kore.core.jobs)."""
    if stale_after is None:
        stale_after = timedelta(seconds=settings.KORE_EXPORT_STALE_SECONDS)
    reaped = jobs_reap(ExportJob, stale_after=stale_after, max_attempts=ExportJob.MAX_ATTEMPTS,
                       failed_code="export_attempts_exhausted")  # fmt: skip
    from .tasks import run_export

    for pk in reaped.to_send:
        run_export.delay(pk)
    if reaped.failed or reaped.to_send:
        logger.warning("export reaper: failed %s, re-queued %s, re-sent %s",
                       reaped.failed, reaped.requeued, reaped.resent)  # fmt: skip
    return {"failed": reaped.failed, "requeued": reaped.requeued, "resent": reaped.resent}
