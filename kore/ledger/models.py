"""The ledger: accounts, categories, tags, transactions and their splits, transfers, statements,
attachments, and the per-organisation state row that orders every change."""

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from kore.core.audit import AuditFields
from kore.core.money import DECIMAL_PLACES, MAX_DIGITS
from kore.orgs.models import ApiToken, Organization

from . import lookups  # noqa: F401 - registers ilike_contains on CharField


def MoneyColumn(**kwargs: Any) -> "models.DecimalField[Any, Any]":
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class LedgerState(models.Model):
    """One row per organisation. Every ledger write bumps ``version`` in its own transaction.

    The row lock taken by that UPDATE serialises an organisation's writers, so change numbers
    commit in order and a change-feed reader can never skip one; reports are cached under it.
    """

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="ledger_state"
    )
    version = models.BigIntegerField(default=0)
    # Tombstones with change_seq ≤ this were purged: older change-feed cursors are expired.
    purged_through = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.organization_id}@{self.version}"


class Account(models.Model):
    class Kind(models.TextChoices):
        BANK = "bank"
        CARD = "card"
        CASH = "cash"
        SAVINGS = "savings"
        LOAN = "loan"
        OTHER = "other"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.BANK)
    currency = models.CharField(max_length=3)
    opening_balance = MoneyColumn(default=0)
    archived = models.BooleanField(default=False)
    # What the bank calls the account, so imports find it in a statement: an IBAN (stored
    # without spaces, upper case, checksum verified) and/or the bank's own account number.
    iban = models.CharField(max_length=34, blank=True, default="")
    number = models.CharField(max_length=40, blank=True, default="")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(bases=[AuditFields])

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="ledger_account_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class Category(models.Model):
    class Kind(models.TextChoices):
        INCOME = "income"
        EXPENSE = "expense"
        TRANSFER = "transfer"

    MAX_DEPTH = 3

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.EXPENSE)
    depth = models.PositiveSmallIntegerField(default=1)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(bases=[AuditFields])

    class Meta:
        verbose_name_plural = "categories"
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organization", "parent", "name"], name="ledger_category_sibling_unique"
            ),
            models.UniqueConstraint(
                fields=["organization", "name"],
                condition=Q(parent__isnull=True),
                name="ledger_category_root_unique",
            ),
            models.CheckConstraint(
                condition=Q(depth__gte=1, depth__lte=3), name="ledger_category_depth_1_3"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=50)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organization", "name"], name="ledger_tag_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Transfer(models.Model):
    """Links the two legs of a move between accounts; ``rate`` = to_amount / -from_amount."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    rate = models.DecimalField(max_digits=24, decimal_places=10)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(bases=[AuditFields])

    def __str__(self) -> str:
        return f"transfer {self.pk}"


class Statement(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        RECONCILED = "reconciled"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="statements")
    end_date = models.DateField()
    closing_balance = MoneyColumn()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(bases=[AuditFields])

    def __str__(self) -> str:
        return f"{self.account_id} to {self.end_date}"


class Transaction(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        CLEARED = "cleared"
        RECONCILED = "reconciled"

    class BankState(models.TextChoices):
        """What the bank said of an imported row, apart from Kore's reconciliation ``status``:
        ``pending`` (authorised, not yet booked: a later booked row replaces it) or ``booked``.
        Empty on rows entered by hand."""

        NONE = "", "not from a bank"
        BOOKED = "booked"
        PENDING = "pending"

    # Sparse or covered foreign keys carry no index of their own (each index slows every insert):
    # organisation is the first column of ledger_tx_org_change_seq; transfer, statement and API
    # token have partial indexes over the few rows that have one.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # Its index is ledger_tx_account_keyset (below), which leads with the account.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="transactions", db_index=False
    )
    occurred_on = models.DateField()
    amount = MoneyColumn()
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=500, blank=True)
    counterparty = models.CharField(max_length=200, blank=True)
    # Its index is ledger_tx_category_date (below), which leads with the category.
    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transactions",
        db_index=False,
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="transactions")
    # The counterparty as an entity (kore.payees); merging payees rewrites this.
    payee = models.ForeignKey(
        "payees.Payee", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reference = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True, max_length=10_000)
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    bank_state = models.CharField(
        max_length=8, choices=BankState.choices, blank=True, default="", db_default=""
    )
    # The bank's own id of the row (OFX FITID, CAMT AcctSvcrRef…), when it gave one.
    bank_id = models.CharField(max_length=100, blank=True, default="", db_default="")
    # The amount as the bank first stated it in another currency (``amount`` is in the
    # account's currency).
    original_amount = MoneyColumn(null=True, blank=True)
    original_currency = models.CharField(max_length=3, blank=True, default="", db_default="")
    transfer = models.ForeignKey(
        Transfer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="legs",
        db_index=False,
    )
    statement = models.ForeignKey(
        Statement,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="transactions",
        db_index=False,
    )
    # No index: nothing lists transactions by creator; deleting a user (rare) may scan.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    created_by_token = models.ForeignKey(
        ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)
    change_seq = models.BigIntegerField(default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Whether any tag or split row exists, so the list skips looking for them on most rows.
    # Kept true to those rows by PostgreSQL triggers (migration 0008), whoever writes them.
    has_tags = models.BooleanField(default=False, db_default=False, editable=False)
    has_splits = models.BooleanField(default=False, db_default=False, editable=False)
    # Provenance of an imported row (kore.imports). No index on import_job: jobs are rarely
    # deleted, and each index slows the bulk inserts imports make.
    import_job = models.ForeignKey(
        "imports.ImportJob",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    import_line = models.PositiveIntegerField(null=True, blank=True)
    fingerprint = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    history = HistoricalRecords(
        bases=[AuditFields],
        excluded_fields=[
            "change_seq",
            "import_job",
            "import_line",
            "fingerprint",
            "has_tags",
            "has_splits",
        ],
    )

    class Meta:
        indexes: ClassVar = [
            # The list's keyset: newest first within an organisation, live rows only.
            models.Index(
                "organization",
                models.F("occurred_on").desc(),
                models.F("id").desc(),
                name="ledger_tx_org_date_id",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(fields=["organization", "change_seq"], name="ledger_tx_org_change_seq"),
            # An account's rows newest first: balances up to a date, and the list or export
            # filtered by account, whose keyset bound (occurred_on, id) it serves without a sort
            # however many rows the account holds (and whatever the statistics say). Not partial:
            # it is also the foreign key's index (deleting an account looks for every row of it,
            # soft-deleted ones included), so the table keeps one index on the account, not two.
            models.Index(
                "account",
                models.F("occurred_on").desc(),
                models.F("id").desc(),
                name="ledger_tx_account_keyset",
            ),
            # A category's rows by date: a filtered list of a rare category, and the foreign
            # key's index (every row: deleting a category or asking whether one is in use looks
            # at soft-deleted rows too). A category belongs to one organisation, so leading with
            # it is as selective as leading with the organisation.
            models.Index(fields=["category", "occurred_on"], name="ledger_tx_category_date"),
            models.Index(
                fields=["transfer"], name="ledger_tx_transfer", condition=Q(transfer__isnull=False)
            ),
            models.Index(
                fields=["statement"],
                name="ledger_tx_statement",
                condition=Q(statement__isnull=False),
            ),
            models.Index(
                fields=["created_by_token"],
                name="ledger_tx_api_token",
                condition=Q(created_by_token__isnull=False),
            ),
            # Import duplicate checks: live imported rows of an account by fingerprint.
            models.Index(
                fields=["account", "fingerprint"],
                name="ledger_tx_fingerprint",
                condition=Q(fingerprint__isnull=False, deleted_at__isnull=True),
            ),
            # Imports look for bank-pending rows a booked row replaces: a handful per account.
            models.Index(
                fields=["account", "bank_id"],
                name="ledger_tx_bank_pending",
                condition=Q(bank_state="pending", deleted_at__isnull=True),
            ),
            # Imports look for rows entered by hand that an imported row matches (kore.imports
            # .matching); imported rows (with a fingerprint) never enter this index.
            models.Index(
                fields=["account", "amount", "occurred_on"],
                name="ledger_tx_by_hand",
                condition=Q(fingerprint__isnull=True, deleted_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_on} {self.amount} {self.currency}"


class Split(models.Model):
    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="splits")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, null=True, blank=True)
    amount = MoneyColumn()
    memo = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering: ClassVar = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.amount}"


class Attachment(models.Model):
    """A receipt or statement file. The bytes live in the default storage under ``path``
    (``attachments/<org id>/<uuid4 hex>``: not guessable, never served under a public URL);
    ``content_type`` is what the content is, whatever the uploaded name said."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    transaction = models.ForeignKey(
        Transaction, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachments"
    )
    path = models.CharField(max_length=255, unique=True)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_by_token = models.ForeignKey(
        ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organization", "sha256"], name="ledger_attachment_sha256_unique"
            ),
        ]
        indexes: ClassVar = [
            models.Index(
                "organization",
                models.F("created_at").desc(),
                models.F("id").desc(),
                name="ledger_attachment_org_new",
            ),
        ]

    def __str__(self) -> str:
        return self.original_name
