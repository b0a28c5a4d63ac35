"""Imports: create a job for an uploaded file, run it (worker or CLI), cancel, reap, force.

Exactly once: a job is claimed by a conditional UPDATE (``queued → running``, a fresh ``claim``
uuid); it first validates the whole file (nothing written), then writes chunks of
``CHUNK_ROWS``, each in one transaction with the job's ``cursor`` (last source line handled) and
counts. A killed worker loses at most its open chunk, whose rows and cursor roll back together;
the next claim re-reads the file, skips lines up to the cursor and writes the rest. Fingerprints,
checked under a per-account advisory lock, keep two imports of the same file from doubling it.

On PostgreSQL the validation pass also fingerprints each valid row and COPYs it into a TEMP
staging table, and the write pass moves ``STAGED_CHUNK_ROWS`` lines per transaction from there
with one INSERT … SELECT (kore.imports.staging, kore.ledger.services.bulk_sql); the file is read
once per attempt. Elsewhere (SQLite) the write pass re-reads the file and uses the ORM. Commits
keep the server's ``synchronous_commit``: a chunk is seconds of work, one WAL flush is noise.
"""

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, BinaryIO, cast

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection
from django.db import transaction as db_transaction
from django.db.models import F, Q
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from kore.core.audit import audit_attrs
from kore.core.exceptions import (
    Conflict,
    KoreError,
    NotFound,
    RequestTooLarge,
    RuleViolation,
    rule_violation,
)
from kore.core.jobs import job_claim, job_finish, job_heartbeat, jobs_reap
from kore.core.money import format_amount
from kore.ledger.iban import account_ref_normalise
from kore.ledger.models import Account, Split, Transaction
from kore.ledger.models import Statement as LedgerStatement
from kore.ledger.services.periods import closed_through, period_open_check
from kore.ledger.services.state import ledger_version_bump
from kore.ledger.services.statements import (
    statement_cleared_balance,
    statement_create,
    statement_reconcile,
)
from kore.ledger.services.transactions import transaction_delete
from kore.ledger.services.transfers import SKIP_REASONS, transfers_join
from kore.notifications.services import import_job_email_enqueue
from kore.ops.metrics import import_rows_record
from kore.orgs.models import Organization, Role, User
from kore.orgs.scoping import OrgContext
from kore.payees.categorise import (
    Categoriser,
    CategoryNames,
    Decision,
    Subject,
    payees_settle,
    rule_tags_ensure,
    tags_link,
)
from kore.payees.rules import split_amounts
from kore.suggestions.services import (
    AutoApply,
    auto_apply_get,
    retrain_after_import,
    suggestions_chunk_apply,
    suggestions_import_apply,
)
from kore.webhooks.events import IMPORT_FAILED, IMPORT_FINISHED, publish

from .booking import Booked, Booker, Pending, pending_pairs
from .fingerprints import Fingerprinter, fingerprint, row_key
from .matching import Candidate, Incoming, hand_matches
from .models import ERRORS_KEPT, ImportJob, ImportMapping
from .readers import (
    ImportFileError,
    Reader,
    Row,
    RowError,
    Statement,
    format_detect,
    reader_open,
)
from .readers.base import row_replace
from .selectors import import_job_get, import_mapping_get
from .staging import Staging, staging_line

logger = logging.getLogger(__name__)

CHUNK_ROWS = 1000  # rows per transaction through the ORM (SQLite)
STAGED_CHUNK_ROWS = 10_000  # rows per transaction from staging (PostgreSQL)
COPY_ROWS = 5000  # staged rows sent per COPY during validation
HEARTBEAT_ROWS = 5000
PREVIEW_ROWS = 10  # first rows shown as they will be booked
COPY_BYTES = 1024 * 1024
IMPORT_LOCK_SPACE = 0x4B6F7249  # "KorI": pg_advisory_xact_lock(space, account id)
Status = ImportJob.Status


class _Lost(Exception):
    """The job is no longer ours (cancelled, or re-claimed after the reaper's deadline)."""


# --- create -------------------------------------------------------------------------------------
def too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(f"Import files are at most {limit} bytes.", code="request_too_large")


def _store(file: "File[bytes]", organization: Organization) -> tuple[str, int, bytes]:
    """Copy the upload to ``imports/<org id>/<uuid4 hex>``; returns path, size, first bytes."""
    limit = settings.KORE_IMPORT_MAX_BYTES
    if file.size is not None and file.size > limit:
        raise too_large(limit)
    file.seek(0)
    head = file.read(4096)
    file.seek(0)
    if not head:
        raise rule_violation("file", "import_file_empty", "The file is empty.")
    path = default_storage.save(f"imports/{organization.pk}/{uuid.uuid4().hex}", file)
    size = default_storage.size(path)
    if size > limit:
        default_storage.delete(path)
        raise too_large(limit)
    return path, size, head


def import_job_create(
    *,
    ctx: OrgContext,
    file: "File[bytes]",
    account: int,
    format: str = "",
    mapping: dict[str, Any] | None = None,
    mode: str = ImportJob.Mode.ALL_OR_NOTHING,
    dry_run: bool = False,
    enqueue: bool = True,
) -> ImportJob:
    """Store the file, record a queued job and send it to the worker once committed
    (``enqueue=False``: the caller runs it, as the CLI does)."""
    found = Account.objects.filter(organization=ctx.organization, pk=account).first()
    if found is None:
        raise rule_violation("account", "not_found", "No such account in this organisation.")
    if found.archived:
        raise Conflict("The account is archived and accepts no imports.", code="account_archived")
    path, size, head = _store(file, ctx.organization)
    try:
        with db_transaction.atomic():
            job = ImportJob.objects.create(
                organization=ctx.organization,
                account=found,
                created_by=ctx.user,
                format=format or format_detect(head, file.name or ""),
                mode=mode,
                dry_run=dry_run,
                file_path=path,
                original_name=(file.name or "upload")[-255:],
                size=size,
                mapping=mapping or {},
            )
            if enqueue:
                import_job_enqueue_on_commit(job_id=job.pk)
    except BaseException:
        default_storage.delete(path)
        raise
    return job


def import_job_enqueue_on_commit(*, job_id: int) -> None:
    """Send the job's id to the worker after commit; a broker outage leaves it to the reaper."""
    from .tasks import run_import

    db_transaction.on_commit(lambda: run_import.delay(job_id), robust=True)


# --- run ----------------------------------------------------------------------------------------
def import_job_run(*, job_id: int, progress: Callable[[ImportJob], None] | None = None) -> None:
    """Claim a queued job and carry it to its end; anything not queued is left alone."""
    claim = job_claim(ImportJob, job_id)
    if claim is None:
        return
    job = ImportJob.objects.select_related("account", "organization", "created_by").get(pk=job_id)
    try:
        if job.attempts > ImportJob.MAX_ATTEMPTS:
            raise ImportFileError(
                f"Gave up after {ImportJob.MAX_ATTEMPTS} attempts.",
                code="import_attempts_exhausted",
            )
        _Run(job, claim, progress).run()
    except KoreError as exc:  # the file (ImportFileError) or a ledger rule (period_reconciled)
        _finish(job, claim, Status.FAILED, code=exc.code, message=exc.message)
    except _Lost:
        _forget_if_cancelled(job)
    except SoftTimeLimitExceeded:
        _finish(job, claim, Status.FAILED, code="import_timed_out",
                message="The import ran past its time limit.")  # fmt: skip
    except DatabaseError:
        raise  # transient: the job stays running and the reaper hands it out again
    except Exception:
        logger.exception("import %s failed", job_id)
        _finish(job, claim, Status.FAILED, code="import_internal_error",
                message="The import failed unexpectedly; it has been logged.")  # fmt: skip


def _staged() -> bool:
    """Whether imports write through the PostgreSQL staging table (kore.imports.staging)."""
    return connection.vendor == "postgresql"


class _Run:
    def __init__(
        self, job: ImportJob, claim: uuid.UUID, progress: Callable[[ImportJob], None] | None
    ) -> None:
        self.job, self.claim, self.progress = job, claim, progress
        self.ctx_user: User | None = job.created_by
        # PostgreSQL stages validated rows and writes them set-based; elsewhere (SQLite, the
        # embedded runtime) pass 2 re-reads the file and writes through the ORM.
        self.staging = Staging() if _staged() else None
        self.chunks: list[tuple[int, int]] = []  # (last line, rows read) of each staged chunk
        # Auto-apply decides a row's suggestion before the row is written; the lines it could
        # not decide then (booked onto an existing transaction, or a rule's transfer that may
        # not be made) are decided once the import has written everything.
        self.auto: AutoApply | None = None
        self.deferred: set[int] = set()
        # A job claimed again (its worker died) wrote the lines up to its cursor before: those
        # rows are decided at the end too.
        self.resumed_after = job.cursor

    def _opener(self) -> BinaryIO:
        try:
            return cast(BinaryIO, default_storage.open(self.job.file_path, "rb"))
        except FileNotFoundError as exc:
            raise ImportFileError("The uploaded file is gone.", code="import_file_missing") from exc

    def run(self) -> None:
        job = self.job
        if job.account.archived:
            raise ImportFileError("The account is archived.", code="account_archived")
        mapping = dict(job.mapping)
        if job.format in ImportJob.TABULAR:
            saved = import_mapping_get(account_id=job.account_id)
            mapping = {**saved, **mapping} if saved else mapping
        mapping.setdefault("time_zone", job.organization.time_zone)  # date-times' dates
        reader = self._reader(mapping)
        self.categoriser = Categoriser(job.organization)
        self.category_names = CategoryNames(job.organization)
        if not job.dry_run:
            rule_tags_ensure(organization=job.organization, rules=self.categoriser.rules)
            self.auto = auto_apply_get(organization=job.organization)
        if not job.account_refs:
            self._route(reader, first_only=job.format == ImportJob.Format.CSV)
        started = time.perf_counter()
        try:
            self._validate(reader)
            read = time.perf_counter()
            self._write(reader)
        finally:
            if self.staging is not None:
                self._staging_drop()
        wrote = time.perf_counter()
        # Where an import's time went: pass 1 reads, checks, categorises and stages every row
        # before pass 2 writes anything (an all-or-nothing import refuses the file whole).
        logger.info(
            "import %s: read %s rows in %.2f s, wrote %s in %.2f s", job.pk, job.rows_total,
            read - started, job.created_count, wrote - read,
            extra={"import_job": job.pk, "rows_read": job.rows_total,
                   "rows_created": job.created_count, "read_s": round(read - started, 3),
                   "write_s": round(wrote - read, 3)},
        )  # fmt: skip
        if not job.dry_run:
            self._reconcile(getattr(reader, "statements", None) or [])
            if self.auto is not None and (self.deferred or self.resumed_after):
                suggestions_import_apply(job=job, auto=self.auto, lines=self.deferred,
                                         through=self.resumed_after)  # fmt: skip
        _finish(job, self.claim, Status.DONE)
        retrain_after_import(job=job)
        if job.format in ImportJob.TABULAR and not job.dry_run:
            ImportMapping.objects.update_or_create(
                account_id=job.account_id, defaults={"mapping": reader.mapping}
            )

    def _reader(self, mapping: dict[str, Any]) -> Reader:
        try:
            return reader_open(self.job.format, self._opener, currency=self.job.account.currency,
                               size=self.job.size, mapping=mapping)  # fmt: skip
        except ImportFileError as exc:
            if exc.code == "import_mapping_invalid" and self.job.mapping != mapping:
                # The saved mapping no longer fits this bank's layout: detect afresh.
                return reader_open(self.job.format, self._opener,
                                   currency=self.job.account.currency, size=self.job.size,
                                   mapping=dict(self.job.mapping))  # fmt: skip
            raise

    def _validate(self, reader: Reader) -> None:
        """Pass 1: read every row, keep the first errors, count. Writes nothing but the job (on
        PostgreSQL, and the session's TEMP staging table: see kore.imports.staging)."""
        total, invalid, errors = 0, 0, list[dict[str, Any]]()
        staging = self.staging
        fingerprinter = Fingerprinter(self.job.account_id)
        lines: list[str] = []
        valid, last_line = 0, 0
        refuse_on_error = self.job.mode == ImportJob.Mode.ALL_OR_NOTHING
        closed = closed_through(
            organization=self.job.organization, account_ids=[self.job.account_id]
        ).get(self.job.account_id)
        in_closed: list[str] = []  # fingerprints of the rows dated in the closed period
        if staging is not None:
            staging.create()
        booker = Booker(self.job.account.currency, self.job.account_refs,
                        strict=self.job.format == ImportJob.Format.CSV)  # fmt: skip
        shown: list[Row | RowError] = []
        for item in self._category_checked(booker(reader.rows())):
            total += 1
            if total <= PREVIEW_ROWS:
                shown.append(item)
            if isinstance(item, RowError):
                invalid += 1
                if len(errors) < ERRORS_KEPT:
                    errors.append(item.as_dict())
                if refuse_on_error:
                    staging = None  # the import will fail: stage no more
            elif staging is not None or closed is not None:
                fp, occurrence = fingerprinter(item)
                if closed is not None and item.occurred_on <= closed:
                    in_closed.append(fp)
                if staging is not None:
                    item, decision = _categorised(
                        self.categoriser, self.job, item, self.category_names, self.auto
                    )
                    if "transfer" in decision.extra:
                        self.deferred.add(item.line)
                    lines.append(staging_line(item, total, fp, occurrence, decision))
                    valid += 1
                    last_line = item.line
                    if valid % STAGED_CHUNK_ROWS == 0:
                        self.chunks.append((last_line, total))
                    if len(lines) >= COPY_ROWS:
                        staging.copy(lines)
                        lines = []
            if total % HEARTBEAT_ROWS == 0:
                self._heartbeat()
        preview = _preview(self.job, reader, shown)
        self.job.preview = preview
        reverted, pending = booker.counts.reverted, booker.counts.pending
        if total == 0 and not reverted:
            raise ImportFileError("The file has no rows.", code="import_no_rows")
        self._update(rows_total=total, invalid_count=invalid, errors=errors,
                     reverted_count=reverted, pending_count=pending, preview=preview)  # fmt: skip
        job = self.job
        job.rows_total, job.invalid_count, job.errors = total, invalid, errors
        job.reverted_count, job.pending_count = reverted, pending
        if invalid and (refuse_on_error or invalid == total):  # no row at all is a failure
            raise ImportFileError(
                f"{invalid} of {total} rows break a rule; nothing was written (see errors"
                + (", or import with mode skip_invalid)." if invalid < total else ")."),
                code="import_rows_invalid",
            )
        if in_closed:
            assert closed is not None
            self._refuse_closed_period(in_closed, closed)
        if staging is not None:
            staging.copy(lines)
            staging.index()
            if valid % STAGED_CHUNK_ROWS:
                self.chunks.append((last_line, total))
            elif self.chunks:  # the last chunk reports every row read, trailing errors too
                self.chunks[-1] = (last_line, total)

    def _category_checked(self, items: Iterable[Row | RowError]) -> Iterator[Row | RowError]:
        """A row whose category column names no category of the organisation, or several,
        becomes a row error (the file says something Kore cannot place)."""
        names = self.category_names
        for item in items:
            if isinstance(item, Row) and item.category:
                _, problem = names.find(item.category)
                if problem:
                    message = (
                        f"{item.category[:80]!r} names several categories: write it as "
                        "Parent:Child." if problem == "category_ambiguous"
                        else f"No category is called {item.category[:80]!r}."
                    )  # fmt: skip
                    yield RowError(item.line, "category", problem, message, item.category)
                    continue
            yield item

    def _refuse_closed_period(self, fingerprints: list[str], closed: date) -> None:
        """Fail before writing anything when a row that is not already in the ledger is dated
        in the account's closed period (rows already there are duplicates and change nothing)."""
        fresh = 0
        for start in range(0, len(fingerprints), COPY_ROWS):
            part = fingerprints[start : start + COPY_ROWS]
            fresh += len(set(part) - set(_live_fingerprints(self.job.account_id, part)))
        if fresh:
            raise ImportFileError(
                f"{fresh} new rows are dated on or before {closed.isoformat()}, a closed period "
                "of this account (a reconciled statement or the organisation's lock date); "
                "nothing was written. Reopen the statement or move the lock date first.",
                code="period_reconciled",
            )

    def _write(self, reader: Reader) -> None:
        """Pass 2: fingerprint every row in file order, write those past the cursor in chunks."""
        if self.staging is not None:
            self._write_staged()
            return
        fingerprinter = Fingerprinter(self.job.account_id)
        chunk: list[tuple[Row, str, int]] = []
        read = 0
        booker = Booker(self.job.account.currency, self.job.account_refs,
                        strict=self.job.format == ImportJob.Format.CSV)  # fmt: skip
        for item in self._category_checked(booker(reader.rows())):
            read += 1
            if isinstance(item, RowError):
                continue
            fp, occurrence = fingerprinter(item)
            if item.line <= self.job.cursor:
                continue
            chunk.append((item, fp, occurrence))
            if len(chunk) >= CHUNK_ROWS:
                self._commit(chunk, read)
                chunk = []
        self._commit(chunk, read)

    def _staging_drop(self) -> None:
        assert self.staging is not None
        try:
            self.staging.drop()
        except DatabaseError:  # a broken session: PostgreSQL drops its TEMP tables itself
            logger.warning("import %s: could not drop the staging table", self.job.pk)

    def _write_staged(self) -> None:
        """Pass 2 on PostgreSQL: the staged rows past the cursor, a chunk per transaction."""
        assert self.staging is not None
        after, wrote = self.job.cursor, False
        for through, read in self.chunks:
            if through > after:
                self._commit_staged(after, through, read)
                after, wrote = through, True
        if not wrote:  # nothing left past the cursor: still record that every row was read
            self._commit_staged(after, after, self.job.rows_total or 0)

    def _commit_staged(self, after: int, through: int, read: int) -> None:
        """Lines ``after < line <= through`` from staging to the ledger, with the cursor."""
        job, staging = self.job, self.staging
        assert staging is not None
        with db_transaction.atomic():
            with connection.cursor() as cursor:
                # Compiling each chunk's statements (JIT) costs more than it saves.
                cursor.execute("SET LOCAL jit = off")
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)", [IMPORT_LOCK_SPACE, job.account_id]
                )
            self._heartbeat()  # also locks the job row until commit
            staging.statistics_ensure()
            if _links_possible(job):
                links = self._link(staging.fresh(job.account_id, after, through))
                staging.link(links)
                self.deferred.update(links)
            size, held = staging.counts(job.account_id, after, through)
            if held:
                for row, fp, occurrence, matched in staging.matches(
                    job.account_id, after, through, ERRORS_KEPT - len(job.duplicates)
                ):
                    job.duplicates.append(_duplicate(row, fp, occurrence, matched))
            created = size - held  # what a dry run would write
            if created and not job.dry_run:  # the change number only when something changes
                seq = ledger_version_bump(organization=job.organization)
                staging.payees_create(after, through, job.organization, job.created_by)
                now = timezone.now()
                created = staging.insert(
                    after=after, through=through, account_id=job.account_id,
                    values={
                        "organization_id": job.organization_id, "account_id": job.account_id,
                        "currency": job.account.currency, "created_by_id": job.created_by_id,
                        "change_seq": seq, "import_job_id": job.pk,
                    },
                    history_user_id=job.created_by_id, now=now,
                )  # fmt: skip
                if self.auto is not None:
                    staging.applied_record(after, through, job, now)
                staging.tags_link(after, through, job.organization_id)
                _staged_extras(job, seq, staging.extras(after, through))
            job.created_count += created
            job.duplicate_count += size - created
            written = 0 if job.dry_run else created
            job.cursor = max(job.cursor, through)
            job.rows_read = read
            self._update(
                cursor=job.cursor,
                rows_read=read,
                created_count=job.created_count,
                duplicate_count=job.duplicate_count,
                duplicates=job.duplicates,
                replaced_count=job.replaced_count,
                matched_count=job.matched_count,
                matches=job.matches,
                transfers_skipped=job.transfers_skipped,
            )
        import_rows_record(written)
        if self.progress:
            self.progress(job)

    def _commit(self, chunk: list[tuple[Row, str, int]], read: int) -> None:
        job = self.job
        with db_transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_xact_lock(%s, %s)", [IMPORT_LOCK_SPACE, job.account_id]
                    )
            self._heartbeat()  # also locks the job row until commit
            matched = _live_fingerprints(job.account_id, [fp for _, fp, _ in chunk])
            linked: set[int] = set()
            if _links_possible(job):
                linked = set(self._link([(r, fp) for r, fp, _ in chunk if fp not in matched]))
                self.deferred.update(linked)
            chunk = [entry for entry in chunk if entry[0].line not in linked]
            new = [(row, fp) for row, fp, _ in chunk if fp not in matched]
            if new and not job.dry_run:
                _transactions_create(
                    job, new, self.categoriser, self.category_names, self.auto, self.deferred
                )
            for row, fp, occurrence in chunk:
                if fp in matched and len(job.duplicates) < ERRORS_KEPT:
                    job.duplicates.append(_duplicate(row, fp, occurrence, matched[fp]))
            job.created_count += len(new)
            job.duplicate_count += len(chunk) - len(new)
            if chunk:
                job.cursor = chunk[-1][0].line
            job.rows_read = read
            self._update(
                cursor=job.cursor,
                rows_read=read,
                created_count=job.created_count,
                duplicate_count=job.duplicate_count,
                duplicates=job.duplicates,
                replaced_count=job.replaced_count,
                matched_count=job.matched_count,
                matches=job.matches,
                transfers_skipped=job.transfers_skipped,
            )
        import_rows_record(0 if job.dry_run else len(new))
        if self.progress:
            self.progress(job)

    def _route(self, reader: Reader, *, first_only: bool = False) -> None:
        """Which of the file's statements this job books. A file naming no account goes to the
        target account. Otherwise each account the file names (IBAN or number) must be the
        target's or another account's of the organisation (for QIF, its name); the others'
        statements go to new jobs on their accounts. A file not naming the target account, or
        naming an account Kore does not know among several, is refused with the list of
        accounts it holds. A CSV is one account's export: its first row names it (a preamble's
        IBAN or an account column), and a later row naming another is a row error."""
        job = self.job
        refs: list[str] = []
        for item in reader.rows():
            if isinstance(item, Row) and item.account_ref:
                ref = account_ref_normalise(item.account_ref)
                if ref not in refs:
                    refs.append(ref)
            if first_only and isinstance(item, Row):
                break
        if not refs:
            return
        accounts = Account.objects.filter(organization_id=job.organization_id)
        by_ref: dict[str, Account] = {}
        for account in accounts.filter(Q(iban__in=refs) | Q(number__in=refs)):
            for ref in (account.iban, account.number):
                if ref in refs:
                    by_ref[ref] = account
        if any(ref not in by_ref for ref in refs):
            # QIF names accounts as the user's software calls them: match Kore's names.
            for account in accounts.filter(archived=False):
                name = account_ref_normalise(account.name)
                if name in refs and name not in by_ref:
                    by_ref[name] = account
        target = job.account
        own = [ref for ref in refs if ref in by_ref and by_ref[ref].pk == target.pk]
        unknown = [ref for ref in refs if ref not in by_ref]
        if not (target.iban or target.number) and len(refs) == 1 and unknown:
            own = refs  # one statement, and the account keeps no IBAN or number to compare
        listed = ", ".join(
            f"{ref} ({by_ref[ref].name})" if ref in by_ref else f"{ref} (no account)"
            for ref in refs
        )
        if not own and (target.iban or target.number or not unknown):
            named = target.iban or target.number
            raise ImportFileError(
                f"The file holds the statement of {listed}, not of this account ({named}). "
                "Import it into its own account, or set this account's IBAN or number.",
                code="import_account_mismatch",
            )
        stray = [ref for ref in unknown if ref not in own]
        if stray or not own:
            raise ImportFileError(
                f"The file holds statements of several accounts: {listed}. Set the IBAN or "
                "account number of the Kore account each belongs to; each statement then goes "
                "to its own account.",
                code="import_accounts_unknown",
            )
        others: dict[int, list[str]] = {}
        for ref in refs:
            if ref not in own:
                others.setdefault(by_ref[ref].pk, []).append(ref)
        with db_transaction.atomic():
            if not ImportJob.objects.filter(pk=job.pk, claim=self.claim).select_for_update():
                raise _Lost()
            routed = []
            for account_id, account_refs in others.items():
                sibling = (
                    None if job.dry_run else _job_for_statements(job, account_id, account_refs)
                )
                routed.append({"account": account_id, "account_refs": account_refs,
                               "job": sibling})  # fmt: skip
            job.account_refs, job.routed = own, routed
            self._update(account_refs=own, routed=routed)

    def _reconcile(self, statements: list[Statement]) -> None:
        """Each closed statement of the file whose balance the bank states becomes a Kore
        statement ending on the closing balance's date, reconciled by the ledger's own rule
        (kore.ledger.services.statements) when the account agrees, left open with the
        difference shown when it does not. The rows are written already: nothing here fails
        the import."""
        job = self.job
        account = job.account
        refs = set(job.account_refs)
        ctx = OrgContext(job.organization, Role.MEMBER, cast(User, job.created_by), None)
        results: list[dict[str, Any]] = []
        for found in statements:
            end = found.closing_date or found.end
            if (
                found.kind != "statement" or found.closing_balance is None or end is None
                or (refs and account_ref_normalise(found.account_ref) not in refs)
                or (found.currency and found.currency.upper() != account.currency)
            ):  # fmt: skip
                continue
            try:
                results.append(_statement_reconcile(ctx, account, found, end))
            except Exception:  # the import stands; the user can reconcile by hand
                logger.exception("import %s: could not reconcile a statement", job.pk)
        if results:
            job.statements = results
            self._update(statements=results)

    def _link(self, rows: list[tuple[Row, str]]) -> dict[int, int]:
        """Rows booked onto transactions already there instead of anew (line → transaction):
        a booked row replaces the bank-pending transaction it completes; a row matching exactly
        one transaction entered by hand is linked to it (several: listed for the user to
        choose, and booked). Runs inside the chunk's transaction; a dry run changes nothing."""
        job = self.job
        days = job.organization.import_match_days
        links: dict[int, int] = {}
        by_line = {row.line: (row, fp) for row, fp in rows}
        pending = [
            Pending(pk, on, amount, bank_id)
            for pk, on, amount, bank_id in Transaction.objects.filter(
                account_id=job.account_id, bank_state=Transaction.BankState.PENDING,
                deleted_at__isnull=True,
            ).values_list("id", "occurred_on", "amount", "bank_id")
        ]  # fmt: skip
        if pending:
            booked = [
                Booked(row.line, row.occurred_on, row.amount, row.bank_id)
                for row, _ in rows if row.bank_state == "booked"
            ]  # fmt: skip
            for row_ref, tx in pending_pairs(pending, booked, days=days):
                row, fp = by_line[row_ref.line]
                links[row.line] = tx.id
                job.replaced_count += 1
                if not job.dry_run:
                    _pending_replace(job, tx.id, row, fp)
        rest = [(row, fp) for row, fp in rows if row.line not in links]
        if rest and _hand_entered_exist(job.account_id):
            low = min(r.occurred_on for r, _ in rest) - timedelta(days=days)
            high = max(r.occurred_on for r, _ in rest) + timedelta(days=days)
            candidates = [
                Candidate(pk, on, amount, counterparty or description)
                for pk, on, amount, counterparty, description in Transaction.objects.filter(
                    account_id=job.account_id, fingerprint__isnull=True, deleted_at__isnull=True,
                    occurred_on__range=(low, high), amount__in={r.amount for r, _ in rest},
                ).values_list("id", "occurred_on", "amount", "counterparty", "description")
            ]  # fmt: skip
            incoming = [
                Incoming(r.line, r.occurred_on, r.amount, r.counterparty or r.description)
                for r, _ in rest
            ]
            for result in hand_matches(incoming, candidates, days=days):
                row, fp = by_line[result.line]
                if result.linked is not None:
                    links[row.line] = result.linked
                    job.matched_count += 1
                    previous = _hand_link(job, result.linked, row, fp)
                else:
                    previous = None
                if len(job.matches) < ERRORS_KEPT:
                    job.matches.append(_match_entry(row, fp, result.linked, result.candidates,
                                                    previous))  # fmt: skip
        return links

    def _heartbeat(self) -> None:
        if not self._update():
            raise _Lost()

    def _update(self, **values: Any) -> bool:
        return job_heartbeat(ImportJob, self.job.pk, self.claim, **values)


def _statement_reconcile(
    ctx: OrgContext, account: Account, found: Statement, end: date
) -> dict[str, Any]:
    closing = found.closing_balance
    assert closing is not None
    statement = (
        LedgerStatement.objects.filter(account=account, end_date=end, closing_balance=closing)
        .order_by("-id")
        .first()
    ) or statement_create(ctx=ctx, account=account.pk, end_date=end, closing_balance=closing)
    difference = Decimal(0)
    message = "The account agrees with the bank's closing balance."
    if statement.status != LedgerStatement.Status.RECONCILED:
        try:
            statement = statement_reconcile(ctx=ctx, statement_id=statement.pk)
        except RuleViolation as exc:
            if exc.code != "reconciliation_mismatch":
                raise
            balance = statement_cleared_balance(account=account, end_date=end)
            difference, message = closing - balance, exc.message
    currency = account.currency
    return {
        "account_ref": found.account_ref,
        "statement": statement.pk,
        "end_date": end.isoformat(),
        "opening_balance": None
        if found.opening_balance is None
        else format_amount(found.opening_balance, currency),
        "closing_balance": format_amount(closing, currency),
        "status": statement.status,
        "difference": format_amount(difference, currency),
        "message": message,
    }


def _job_for_statements(job: ImportJob, account_id: int, account_refs: list[str]) -> int:
    """A queued job booking the statements of ``account_refs`` from ``job``'s file into their
    own account (a copy of the file: each job removes its own when it ends)."""
    with default_storage.open(job.file_path, "rb") as source:
        path, size, _ = _store(File(source, name=job.original_name), job.organization)
    try:
        sibling = ImportJob.objects.create(
            organization=job.organization, account_id=account_id, created_by=job.created_by,
            format=job.format, mode=job.mode, file_path=path, original_name=job.original_name,
            size=size, mapping=job.mapping, account_refs=account_refs,
        )  # fmt: skip
    except BaseException:
        default_storage.delete(path)
        raise
    import_job_enqueue_on_commit(job_id=sibling.pk)
    return sibling.pk


def _preview(job: ImportJob, reader: Reader, shown: list[Row | RowError]) -> dict[str, Any]:
    """What Kore understood of the file, and its first rows as they are booked (amount signed
    and in the account's currency; refused rows with their reason)."""
    mapping = {k: v for k, v in reader.mapping.items() if isinstance(v, str | int)}
    if "direction" in mapping:
        direction = f"unsigned amounts; the direction is in column {mapping['direction']!r}"
    elif "debit" in mapping or "credit" in mapping:
        direction = "money out in the debit column, money in in the credit column"
    else:
        direction = "signed amounts: negative is money out"
    currency = job.account.currency
    rows: list[dict[str, Any]] = []
    for item in shown:
        if isinstance(item, RowError):
            rows.append({"line": item.line, "error": {"code": item.code, "column": item.column,
                                                      "message": item.message}})  # fmt: skip
            continue
        rows.append({
            "line": item.line,
            "occurred_on": item.occurred_on.isoformat(),
            "amount": format_amount(item.amount, currency),
            "currency": currency,
            "direction": "out" if item.amount < 0 else "in",
            "original_amount": None if item.original_amount is None
            else f"{item.original_amount} {item.original_currency}",
            "description": item.description,
            "counterparty": item.counterparty,
            "bank_state": item.bank_state,
        })  # fmt: skip
    return {
        "format": job.format,
        "encoding": getattr(reader, "encoding", None),
        "delimiter": getattr(reader, "delimiter", None),
        "date_format": mapping.get("date_format"),
        "direction": direction,
        "currency": currency,
        "read_with": mapping,
        "rows": rows,
    }


def _status_of(row: Row) -> str:
    """Kore's reconciliation status of an imported row: the bank booked it, so it is cleared
    (a statement counts it); a bank-pending row waits, pending."""
    return Transaction.Status.PENDING if row.bank_state == "pending" else Transaction.Status.CLEARED


def _links_possible(job: ImportJob) -> bool:
    """Whether the account holds a bank-pending row or a row entered by hand (two small
    partial indexes): when it holds neither, as for most imports, rows are only inserted."""
    live = Transaction.objects.filter(account_id=job.account_id, deleted_at__isnull=True)
    return live.filter(bank_state=Transaction.BankState.PENDING).exists() or _hand_entered_exist(
        job.account_id
    )


def _hand_entered_exist(account_id: int) -> bool:
    return Transaction.objects.filter(
        account_id=account_id, fingerprint__isnull=True, deleted_at__isnull=True
    ).exists()


_BANK_FIELDS = (
    "fingerprint", "import_job_id", "import_line", "bank_state", "bank_id", "status",
)  # fmt: skip


def _row_values(row: Row) -> dict[str, Any]:
    return {
        "occurred_on": row.occurred_on.isoformat(),
        "amount": str(row.amount),
        "description": row.description,
        "counterparty": row.counterparty,
        "reference": row.reference,
        "original_amount": None if row.original_amount is None else str(row.original_amount),
        "original_currency": row.original_currency,
        "bank_state": row.bank_state,
        "bank_id": row.bank_id,
        "notes": row.notes,
        "metadata": row.metadata or {},
    }


def _row_from_values(line: int, values: dict[str, Any], currency: str) -> Row:
    from .readers.base import amount_parse, date_parse

    original = values.get("original_amount")
    return Row(
        line,
        date_parse(values["occurred_on"], "%Y-%m-%d"),
        amount_parse(values["amount"], decimal=".", currency=currency),
        values["description"],
        values["counterparty"],
        values["reference"],
        original_amount=None if original is None else Decimal(original),
        original_currency=values.get("original_currency", ""),
        bank_state=values.get("bank_state", "booked"),
        bank_id=values.get("bank_id", ""),
        notes=values.get("notes", ""),
        metadata=values.get("metadata") or None,
    )


def _save_with_history(job: ImportJob, tx: Transaction) -> None:
    tx.change_seq = ledger_version_bump(organization=job.organization)
    tx.version += 1
    tx._history_user = job.created_by  # type: ignore[attr-defined]
    tx.save()


def _pending_replace(job: ImportJob, tx_id: int, row: Row, fp: str) -> None:
    """The booked row takes the pending transaction's place: its values, the bank's booked
    state, this import's provenance; the user's category, tags and notes stay."""
    tx = Transaction.objects.select_for_update().get(pk=tx_id)
    before = tx.occurred_on
    tx.occurred_on, tx.amount, tx.description = row.occurred_on, row.amount, row.description
    tx.counterparty, tx.reference = row.counterparty, row.reference
    tx.original_amount, tx.original_currency = row.original_amount, row.original_currency
    tx.bank_state, tx.bank_id = Transaction.BankState.BOOKED, row.bank_id or tx.bank_id
    tx.notes = tx.notes or row.notes
    tx.metadata = {**(row.metadata or {}), **tx.metadata}
    tx.fingerprint, tx.import_job, tx.import_line = fp, job, row.line
    if tx.status == Transaction.Status.PENDING:
        tx.status = _status_of(row)
    _save_with_history(job, tx)  # takes the ledger lock: the check below sees the period as is
    period_open_check(
        organization=job.organization,
        entries=[(job.account_id, before), (job.account_id, row.occurred_on)],
    )


def _hand_link(job: ImportJob, tx_id: int, row: Row, fp: str) -> dict[str, Any]:
    """Link the imported row to the transaction entered by hand: the transaction keeps its own
    values and gains the bank's provenance. Returns what it had before (for undoing)."""
    tx = Transaction.objects.select_for_update().get(pk=tx_id)
    previous = {name: getattr(tx, name) for name in _BANK_FIELDS}
    if not job.dry_run:
        tx.fingerprint, tx.import_job, tx.import_line = fp, job, row.line
        tx.bank_state, tx.bank_id = row.bank_state, row.bank_id
        if tx.status == Transaction.Status.PENDING:
            tx.status = _status_of(row)
        _save_with_history(job, tx)
    return previous


def _match_entry(
    row: Row, fp: str, linked: int | None, candidates: tuple[int, ...],
    previous: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    if linked is not None:
        reason = f"Same amount, a close date and a similar payee as transaction {linked}."
    else:
        reason = (f"{len(candidates)} transactions entered by hand fit; the row was booked as "
                  "a new one: choose one to link it to, or keep it.")  # fmt: skip
    return {
        "line": row.line,
        "transaction": linked,
        "candidates": list(candidates),
        "status": "linked" if linked is not None else "choose",
        "reason": reason,
        "fingerprint": fp,
        "values": _row_values(row),
        "previous": previous,
    }


def _live_fingerprints(account_id: int, fingerprints: list[str]) -> dict[str, int]:
    if not fingerprints:
        return {}
    found = Transaction.objects.filter(
        account_id=account_id, fingerprint__in=fingerprints, deleted_at__isnull=True
    ).values_list("fingerprint", "id")
    return {fp: pk for fp, pk in found if fp is not None}


def _categorised(
    categoriser: Categoriser,
    job: ImportJob,
    row: Row,
    names: CategoryNames | None = None,
    auto: AutoApply | None = None,
) -> tuple[Row, Decision]:
    """The row as rules leave it (notes), and what payees and rules decided for it; a category
    the file gives (a mapped column) wins over the rules; with ``auto`` (auto-apply on), a row
    left without a category, split or transfer gets the suggestions whose best is applied."""
    category = names.find(row.category)[0] if names is not None and row.category else None
    taken = frozenset(("category", "split", "transfer")) if category is not None else frozenset()
    decision = categoriser.decide(
        Subject(description=row.description, counterparty=row.counterparty, amount=row.amount,
                account_id=job.account_id, currency=job.account.currency,
                occurred_on=row.occurred_on, taken=taken)
    )  # fmt: skip
    if category is not None:
        decision.values["category"] = category
    if "tags" in decision.values:  # as the tags are named (tags_link, Staging.tags_link)
        decision.values["tags"] = sorted({t.strip() for t in decision.values["tags"] if t.strip()})
    split = decision.values.pop("split", None)
    if split:  # lines in the currency's decimals adding up to the amount exactly
        lines = split_amounts(row.amount, job.account.currency, split)
        decision.extra["split"] = [[category_id, str(amount)] for category_id, amount in lines]
    if "transfer" in decision.values:
        decision.extra["transfer"] = decision.values.pop("transfer")
    if auto is not None and decision.values.get("category") is None and not decision.extra:
        decision.suggested = auto.choose(row.counterparty, row.description, row.amount)
    notes = decision.values.get("notes")
    if notes and not row.notes:
        row = row_replace(row, notes=notes)
    return row, decision


def _transactions_create(
    job: ImportJob,
    rows: Iterable[tuple[Row, str]],
    categoriser: Categoriser | None = None,
    names: CategoryNames | None = None,
    auto: AutoApply | None = None,
    deferred: set[int] | None = None,
) -> None:
    """Write the rows (ORM path) as payees and rules decide, with the suggestions ``auto``
    applies in the same change; ``deferred`` collects the lines of rows a rule asked to make
    transfers of (auto-apply decides those once the import is written)."""
    seq = ledger_version_bump(organization=job.organization)
    account = job.account
    rows = list(rows)
    if categoriser is None:
        categoriser = Categoriser(
            job.organization, counterparties=[r.counterparty for r, _ in rows]
        )
    names = names or CategoryNames(job.organization)
    decided = [(*_categorised(categoriser, job, row, names, auto), fp) for row, fp in rows]
    if deferred is not None:
        deferred.update(row.line for row, d, _ in decided if "transfer" in d.extra)
    payees_settle(
        organization=job.organization, decisions=[d for _, d, _ in decided], user=job.created_by
    )
    period_open_check(
        organization=job.organization,
        entries=[(account.pk, min(row.occurred_on for row, _ in rows))],
    )
    objs = [
        Transaction(
            organization_id=job.organization_id, account=account, occurred_on=row.occurred_on,
            amount=row.amount, currency=account.currency, description=row.description,
            counterparty=row.counterparty, reference=row.reference, created_by=job.created_by,
            change_seq=seq, import_job=job, import_line=row.line, fingerprint=fp,
            original_amount=row.original_amount, original_currency=row.original_currency,
            bank_state=row.bank_state, bank_id=row.bank_id, notes=row.notes,
            metadata=row.metadata or {}, status=_status_of(row), payee_id=decision.payee_id,
            category_id=decision.values.get("category"),
        )
        for row, decision, fp in decided
    ]  # fmt: skip
    _extras_apply(
        job, seq, [(tx, d.extra) for tx, (_, d, _) in zip(objs, decided, strict=True) if d.extra]
    )
    created = bulk_create_with_history(
        objs, Transaction, default_user=job.created_by, custom_historical_attrs=audit_attrs()
    )
    Split.objects.bulk_create(
        [
            Split(transaction=tx, category_id=category_id, amount=Decimal(amount), position=i)
            for tx, (_, d, _) in zip(created, decided, strict=True)
            for i, (category_id, amount) in enumerate(d.extra.get("split") or ())
        ]
    )
    tags_link(
        organization=job.organization,
        tags=[
            (tx.pk, d.values.get("tags") or [])
            for tx, (_, d, _) in zip(created, decided, strict=True)
        ],
    )
    chosen = {tx.pk: d.suggested for tx, (_, d, _) in zip(created, decided, strict=True)
              if d.suggested}  # fmt: skip
    if chosen:
        suggestions_chunk_apply(job=job, chosen=chosen, seq=seq)


def _extras_apply(job: ImportJob, seq: int, rows: list[tuple[Transaction, dict[str, Any]]]) -> None:
    """Rules' transfers for imported rows (saved or not: ``transfers_join``); a row whose
    counter-leg cannot be made is booked as it is, listed with the reason in the job."""
    legs = [(tx, extra["transfer"]) for tx, extra in rows if "transfer" in extra]
    if not legs:
        return
    ctx = OrgContext(job.organization, Role.MEMBER, cast(User, job.created_by), None)
    skipped = transfers_join(ctx=ctx, seq=seq, legs=legs)
    for index, reason in skipped.items():
        if len(job.transfers_skipped) < ERRORS_KEPT:
            line = legs[index][0].import_line
            job.transfers_skipped.append(
                {"line": line, "code": reason, "message": SKIP_REASONS[reason]}
            )


def _staged_extras(job: ImportJob, seq: int, found: list[tuple[int, dict[str, Any]]]) -> None:
    """Split lines and transfers for rows the staging path wrote (kore.imports.staging)."""
    if not found:
        return
    Split.objects.bulk_create(
        [
            Split(transaction_id=tx_id, category_id=category_id, amount=Decimal(amount),
                  position=i)
            for tx_id, extra in found
            for i, (category_id, amount) in enumerate(extra.get("split") or ())
        ]
    )  # fmt: skip
    moved = {tx_id: extra for tx_id, extra in found if "transfer" in extra}
    if moved:
        txs = Transaction.objects.select_for_update().filter(pk__in=moved).order_by("id")
        _extras_apply(job, seq, [(tx, moved[tx.pk]) for tx in txs])


def _duplicate(row: Row, fp: str, occurrence: int, matched: int) -> dict[str, Any]:
    nth = f" (occurrence {occurrence + 1} of that day)" if occurrence else ""
    return {
        "line": row.line,
        "transaction": matched,
        "reason": f"Same account, date, amount, description and reference{nth} as "
        f"transaction {matched}.",
        "fingerprint": fp,
        "values": {
            "occurred_on": row.occurred_on.isoformat(),
            "amount": str(row.amount),
            "description": row.description,
            "counterparty": row.counterparty,
            "reference": row.reference,
        },
    }


def _finish(
    job: ImportJob, claim: uuid.UUID, status: str, *, code: str = "", message: str = ""
) -> None:
    with db_transaction.atomic():
        finished = job_finish(ImportJob, job.pk, claim, status, code=code, message=message)
        if finished:
            import_job_publish(job_id=job.pk)
    if finished:
        job.status = status
        if not (job.dry_run and status == Status.DONE):  # kept to be run for real (promote)
            _file_delete(job.file_path)
        import_job_email_enqueue(job_id=job.pk)  # the creator hears it finished or failed


def import_job_publish(*, job_id: int) -> None:
    """The ``import.finished`` or ``import.failed`` webhook event of a job that just ended."""
    job = ImportJob.objects.select_related("organization").get(pk=job_id)
    if job.status not in (Status.DONE, Status.FAILED):
        return
    failed = job.status == Status.FAILED
    payload = {"import": job.pk, "account": job.account_id} | job.outcome()
    publish(job.organization, IMPORT_FAILED if failed else IMPORT_FINISHED, payload)


def _forget_if_cancelled(job: ImportJob) -> None:
    if ImportJob.objects.filter(pk=job.pk, status=Status.CANCELLED).exists():
        _file_delete(job.file_path)


def _file_delete(path: str) -> None:
    try:
        default_storage.delete(path)
    except OSError:
        logger.warning("could not delete import file %s", path)


# --- cancel, reap, force ------------------------------------------------------------------------
def import_job_cancel(*, ctx: OrgContext, job_id: int) -> ImportJob:
    """Cancel a queued or running job (a running one stops at its next chunk); 409 when ended."""
    with db_transaction.atomic():
        job = (
            ImportJob.objects.select_for_update()
            .filter(organization=ctx.organization, pk=job_id)
            .first()
        )
        if job is None:
            raise NotFound()
        if job.status not in ImportJob.ACTIVE:
            raise Conflict(f"The import already ended ({job.status}).", code="import_finished")
        was_queued = job.status == Status.QUEUED
        job.status, job.claim, job.finished_at = Status.CANCELLED, None, timezone.now()
        job.save(update_fields=["status", "claim", "finished_at", "updated_at"])
        if was_queued:
            path = job.file_path
            db_transaction.on_commit(lambda: _file_delete(path))
    return job


def import_job_promote(*, ctx: OrgContext, job_id: int) -> ImportJob:
    """Run a finished dry run for real: a new queued job on a copy of the same file, with the
    same account, format, mapping and mode (202 through the API). The dry run's own file goes
    once copied, so it runs for real once; an unpromoted one goes after
    ``KORE_IMPORT_DRY_RUN_KEEP_HOURS`` (the reaper)."""
    with db_transaction.atomic():
        job = (
            ImportJob.objects.select_for_update()
            .select_related("account")
            .filter(organization=ctx.organization, pk=job_id)
            .first()
        )
        if job is None:
            raise NotFound()
        if not job.dry_run or job.status != Status.DONE:
            raise Conflict("Only a finished dry run can be run for real.", code="not_a_dry_run")
        if job.mode == ImportJob.Mode.ALL_OR_NOTHING and job.invalid_count:
            raise Conflict(
                f"The dry run found {job.invalid_count} invalid rows: correct the file, or run "
                "it again with mode skip_invalid.",
                code="dry_run_has_errors",
            )
        if job.account.archived:
            raise Conflict(
                "The account is archived and accepts no imports.", code="account_archived"
            )
        if not default_storage.exists(job.file_path):
            raise Conflict(
                "The dry run's file is no longer kept (it already ran for real, or it expired): "
                "upload it again.",
                code="dry_run_expired",
            )
        with default_storage.open(job.file_path, "rb") as source:
            path, size, _ = _store(File(source, name=job.original_name), ctx.organization)
        try:
            promoted = ImportJob.objects.create(
                organization=ctx.organization,
                account=job.account,
                created_by=ctx.user,
                format=job.format,
                mode=job.mode,
                dry_run=False,
                file_path=path,
                original_name=job.original_name,
                size=size,
                mapping=job.mapping,
            )
        except BaseException:
            default_storage.delete(path)
            raise
        import_job_enqueue_on_commit(job_id=promoted.pk)
        old = job.file_path
        db_transaction.on_commit(lambda: _file_delete(old))
    return promoted


def import_dry_run_files_purge(*, now: Any = None) -> int:
    """Delete the files of finished dry runs kept longer than KORE_IMPORT_DRY_RUN_KEEP_HOURS."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.KORE_IMPORT_DRY_RUN_KEEP_HOURS)
    paths = ImportJob.objects.filter(
        dry_run=True, status=Status.DONE, finished_at__lt=cutoff
    ).values_list("file_path", flat=True)
    gone = 0
    for path in paths.iterator():
        if default_storage.exists(path):
            _file_delete(path)
            gone += 1
    return gone


def import_jobs_reap(*, stale_after: timedelta | None = None) -> list[int]:
    """Re-queue running jobs whose worker went silent (kore.core.jobs: a stale heartbeat, or
    none since a stale update), re-send queued ones left waiting, fail those out of attempts."""
    if stale_after is None:
        stale_after = timedelta(seconds=settings.KORE_IMPORT_STALE_SECONDS)
    reaped = jobs_reap(ImportJob, stale_after=stale_after, max_attempts=ImportJob.MAX_ATTEMPTS,
                       failed_code="import_attempts_exhausted")  # fmt: skip
    for job in ImportJob.objects.filter(pk__in=reaped.failed).only("pk", "file_path"):
        _file_delete(job.file_path)
        import_job_publish(job_id=job.pk)
        import_job_email_enqueue(job_id=job.pk)
    from .tasks import run_import

    for pk in reaped.to_send:
        run_import.delay(pk)
    if reaped.failed or reaped.to_send:
        logger.warning("import reaper: failed %s, re-queued %s, re-sent %s",
                       reaped.failed, reaped.requeued, reaped.resent)  # fmt: skip
    import_dry_run_files_purge()
    return reaped.to_send


def _match_locked(
    *,
    ctx: OrgContext,
    job_id: int,
    line: int,
    status: str,
    not_done: str,
    not_matched: tuple[str, str],
) -> tuple[ImportJob, dict[str, Any]]:
    """The finished import (row-locked) and its match entry for ``line`` in ``status``, with the
    account's import lock held, or the error that says why not. Inside a transaction."""
    job = (
        ImportJob.objects.select_for_update(of=("self",))
        .select_related("account", "organization", "created_by")
        .filter(organization=ctx.organization, pk=job_id)
        .first()
    )
    if job is None:
        raise NotFound()
    if job.status != Status.DONE or job.dry_run:
        raise Conflict(not_done, code="import_not_undoable")
    entry = next((m for m in job.matches if m["line"] == line), None)
    if entry is None or entry["status"] != status:
        message, field_message = not_matched
        raise RuleViolation(
            message,
            code="import_line_not_matched",
            fields={"line": [{"code": "import_line_not_matched", "message": field_message}]},
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [IMPORT_LOCK_SPACE, job.account_id]
            )
    return job, entry


def import_match_undo(*, ctx: OrgContext, job_id: int, line: int) -> dict[str, Any]:
    """Undo the link of an imported row to a transaction entered by hand: the transaction loses
    the bank's provenance (its own values never changed) and the row is booked as a new one."""
    with db_transaction.atomic():
        job, entry = _match_locked(
            ctx=ctx, job_id=job_id, line=line, status="linked",
            not_done="Only a finished, real import's matches can be undone.",
            not_matched=(f"Line {line} is not a row this import linked to a transaction.",
                         "Not a linked row of this import."),
        )  # fmt: skip
        tx = Transaction.objects.select_for_update().filter(pk=entry["transaction"]).first()
        if tx is None or tx.fingerprint != entry["fingerprint"] or tx.import_job_id != job.pk:
            raise Conflict("The transaction changed since it was linked; edit it instead.",
                           code="import_match_changed")  # fmt: skip
        for name, value in (entry["previous"] or {}).items():
            setattr(tx, name, value)
        _save_with_history(job, tx)
        row = _row_from_values(line, entry["values"], job.account.currency)
        _transactions_create(job, [(row, entry["fingerprint"])])
        created = Transaction.objects.get(
            account_id=job.account_id, fingerprint=entry["fingerprint"], deleted_at__isnull=True
        )
        entry.update(status="undone", created=created.pk)
        job.matched_count -= 1
        job.created_count += 1
        job.save(update_fields=["matches", "matched_count", "created_count", "updated_at"])
    return {"line": line, "transaction": tx.pk, "created": created.pk}


def import_match_choose(
    *, ctx: OrgContext, job_id: int, line: int, transaction: int
) -> dict[str, Any]:
    """Link a row with several candidates to the one the user chose: the transaction the
    import booked for it is deleted (restorable), and the chosen one, entered by hand, gains
    the bank's provenance. Undone like any other match (``import_match_undo``)."""
    with db_transaction.atomic():
        job, entry = _match_locked(
            ctx=ctx, job_id=job_id, line=line, status="choose",
            not_done="Only a finished, real import's rows can be linked.",
            not_matched=(f"Line {line} is not a row of this import waiting for a choice.",
                         "Not a row with candidates to choose from."),
        )  # fmt: skip
        if transaction not in entry["candidates"]:
            raise RuleViolation(
                f"Transaction {transaction} is not one of the candidates {entry['candidates']}.",
                code="import_not_a_candidate",
                fields={"transaction": [{"code": "import_not_a_candidate",
                                         "message": "Not one of this row's candidates."}]},
            )  # fmt: skip
        booked = Transaction.objects.filter(
            account_id=job.account_id, fingerprint=entry["fingerprint"], deleted_at__isnull=True
        ).first()
        chosen = Transaction.objects.filter(
            pk=transaction, account_id=job.account_id, fingerprint__isnull=True,
            deleted_at__isnull=True,
        ).first()  # fmt: skip
        if booked is None or chosen is None:
            raise Conflict("The row or the transaction changed since the import; edit them "
                           "instead.", code="import_match_changed")  # fmt: skip
        transaction_delete(ctx=ctx, tx_id=booked.pk)
        row = _row_from_values(line, entry["values"], job.account.currency)
        previous = _hand_link(job, chosen.pk, row, entry["fingerprint"])
        entry.update(status="linked", transaction=chosen.pk, previous=previous,
                     deleted=booked.pk)  # fmt: skip
        job.matched_count += 1
        job.created_count -= 1
        job.save(update_fields=["matches", "matched_count", "created_count", "updated_at"])
    return {"line": line, "transaction": chosen.pk, "deleted": booked.pk}


def import_rows_force(*, ctx: OrgContext, job_id: int, lines: list[int]) -> list[dict[str, int]]:
    """Import skipped duplicates anyway: each gets the next free occurrence of its day."""
    job = import_job_get(organization=ctx.organization, job_id=job_id)
    if job is None:
        raise NotFound()
    if job.status != Status.DONE or job.dry_run:
        raise Conflict("Only a finished, real import's duplicates can be forced.",
                       code="import_not_forceable")  # fmt: skip
    by_line = {d["line"]: d for d in job.duplicates}
    unknown = [line for line in lines if line not in by_line]
    if unknown:
        raise RuleViolation(
            f"Line {unknown[0]} is not a skipped duplicate of this import.",
            code="import_line_not_duplicate",
            fields={"lines": [{"code": "import_line_not_duplicate",
                               "message": f"Not skipped duplicates: {unknown[:20]}"}]},
        )  # fmt: skip
    from .readers.base import amount_parse, date_parse

    created = []
    with db_transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)", [IMPORT_LOCK_SPACE, job.account_id]
                )
        for line in sorted(set(lines)):
            values = by_line[line]["values"]
            row = Row(
                line,
                date_parse(values["occurred_on"], "%Y-%m-%d"),
                amount_parse(values["amount"], decimal=".", currency=job.account.currency),
                values["description"],
                values["counterparty"],
                values["reference"],
            )
            key = row_key(job.account_id, row)
            occurrence = 0
            while _live_fingerprints(job.account_id, [fingerprint(key, occurrence)]):
                occurrence += 1
            _transactions_create(job, [(row, fingerprint(key, occurrence))])
            tx = Transaction.objects.get(
                account_id=job.account_id, fingerprint=fingerprint(key, occurrence),
                deleted_at__isnull=True,
            )  # fmt: skip
            created.append({"line": line, "transaction": tx.pk})
        ImportJob.objects.filter(pk=job.pk).update(created_count=F("created_count") + len(created))
    return created
