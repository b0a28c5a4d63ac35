"""Bank-statement imports: one ``ImportJob`` row per uploaded file, and the column mapping an
account remembers for its next CSV."""

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from kore.core.jobs import JobRow
from kore.ledger.models import Account
from kore.orgs.models import Organization

ERRORS_KEPT = 1000  # row errors and skipped duplicates stored on the job


class ImportJob(JobRow):
    """One import of one file into one account. Its state machine::

        queued ──claim──▶ running ──▶ done
          │  ▲               │  ├────▶ failed     (a file-level error, or any row error in
          │  └────reaper─────┘  │                  all_or_nothing mode: nothing written)
          └─────────────────────┴────▶ cancelled  (POST …/cancel/)

    * ``queued``: the file is stored and a task carrying only the id is sent on commit.
    * ``running``: a worker won the conditional UPDATE ``queued → running`` (a duplicate message
      finds no queued row and does nothing). It writes in chunks; each chunk commits its
      transactions together with ``cursor`` (the last source line handled) and the counts, so a
      killed worker's successor resumes after ``cursor`` and fingerprints catch the rest.
      ``heartbeat_at`` moves with every chunk.
    * The reaper (kore.core.jobs, shared with exports) puts ``running`` rows whose heartbeat is
      older than the deadline (or missing, last updated before it) back to ``queued`` (new
      ``claim``: the old worker, if alive, stops at its next chunk) and re-sends ``queued`` rows
      that waited past it (a lost message or a broker outage). After ``MAX_ATTEMPTS`` claims
      the job fails instead (``import_attempts_exhausted``).
    * ``done``, ``failed`` and ``cancelled`` are final; cancelling one of them is a 409.
      Cancelling stops a running import at its next chunk; chunks already committed stay.
    """

    MAX_ATTEMPTS = 5

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Mode(models.TextChoices):
        ALL_OR_NOTHING = "all_or_nothing"
        SKIP_INVALID = "skip_invalid"

    class Format(models.TextChoices):
        CSV = "csv"
        OFX = "ofx"
        QFX = "qfx"
        CAMT053 = "camt053"
        CAMT052 = "camt052"
        CAMT054 = "camt054"
        MT940 = "mt940"
        MT942 = "mt942"
        QIF = "qif"
        XLSX = "xlsx"
        ODS = "ods"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    TABULAR = (Format.CSV, Format.XLSX, Format.ODS)  # read with a column mapping

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    mode = models.CharField(max_length=14, choices=Mode.choices, default=Mode.ALL_OR_NOTHING)
    format = models.CharField(max_length=8, choices=Format.choices, blank=True)
    dry_run = models.BooleanField(default=False)
    # imports/<org id>/<uuid4 hex> in the default storage; removed when the job ends.
    file_path = models.CharField(max_length=255, unique=True)
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    mapping = models.JSONField(default=dict, blank=True)
    cursor = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    invalid_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    duplicates = models.JSONField(default=list, blank=True)
    # What the bank said of rows, counted: bank-pending rows booked as such, pending
    # transactions a booked row replaced, reverted or cancelled rows skipped.
    pending_count = models.PositiveIntegerField(default=0, db_default=0)
    replaced_count = models.PositiveIntegerField(default=0, db_default=0)
    reverted_count = models.PositiveIntegerField(default=0, db_default=0)
    # Rows linked to a transaction entered by hand instead of booked again, and rows with
    # several candidates for the user to choose from (kore.imports.matching).
    matched_count = models.PositiveIntegerField(default=0, db_default=0)
    matches = models.JSONField(default=list, blank=True)
    # Rows a rule would have made a transfer leg but that were booked as they are, with why:
    # {line, code, message} (kore.ledger.services.transfers.SKIP_REASONS).
    transfers_skipped = models.JSONField(default=list, blank=True, db_default=[])
    # Each statement of the file checked against the account (opening/closing balances).
    statements = models.JSONField(default=list, blank=True)
    # The accounts a file names (IBAN or number, normalised) whose rows this job books; empty:
    # every row. ``routed``: the other statements of the file, each sent to its own account's job.
    account_refs = models.JSONField(default=list, blank=True)
    routed = models.JSONField(default=list, blank=True)
    # What Kore understood of the file and its first rows as they are booked (see a dry run's).
    preview = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(
                "organization",
                models.F("created_at").desc(),
                models.F("id").desc(),
                name="imports_job_org_new",
            ),
            models.Index(
                fields=["status", "updated_at"],
                name="imports_job_active",
                condition=Q(status__in=["queued", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.status})"

    def outcome(self) -> dict[str, Any]:
        """What a finished import says of itself, as its webhook and its email tell it."""
        return {
            "file_name": self.original_name,
            "dry_run": self.dry_run,
            "rows_read": self.rows_read,
            "created_count": self.created_count,
            "duplicate_count": self.duplicate_count,
            "invalid_count": self.invalid_count,
            "error_code": self.error_code,
            "error_message": self.error_message,
        }


class ImportMapping(models.Model):
    """The CSV column mapping an account used last, offered again for its next file."""

    account = models.OneToOneField(
        Account, on_delete=models.CASCADE, primary_key=True, related_name="import_mapping"
    )
    mapping = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"mapping for account {self.account_id}"
