"""Transactions: create (one or a batch), update, soft delete, restore, purge."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Required, TypedDict, Unpack

from django.db import transaction as db_transaction
from django.db.models import QuerySet
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from kore.core.audit import audit_attrs
from kore.core.exceptions import Conflict, FieldErrors, KoreError, NotFound, RuleViolation
from kore.core.money import MoneyError, check_precision
from kore.orgs.scoping import OrgContext
from kore.payees.categorise import Categoriser, Decision, Subject, payees_settle
from kore.payees.rules import split_amounts

from ..models import Account, Category, Split, Tag, Transaction
from .concurrency import check_version
from .periods import period_open_check
from .state import ledger_version_bump

BATCH_LIMIT = 1000
METADATA_MAX_KEYS = 50
METADATA_MAX_KEY = 40
METADATA_MAX_VALUE = 500
TOMBSTONE_DAYS = 30
EDITABLE = (
    "account", "occurred_on", "amount", "description", "counterparty", "category",
    "reference", "notes", "metadata", "status",
)  # fmt: skip


class SplitLine(TypedDict, total=False):
    """One split line: its amount, and optionally a category and a memo."""

    amount: Required[Decimal]
    category: int | None
    memo: str


class _Details(TypedDict, total=False):
    description: str
    counterparty: str
    category: int | None
    reference: str
    notes: str
    metadata: dict[str, str]
    status: str
    splits: Sequence[SplitLine] | None
    tags: Sequence[str] | None


class NewTransaction(_Details, total=False):
    """``transaction_create``'s values: account, date and amount required. A key left out is for
    the rules and payees to fill (category, split lines, notes, tags, payee)."""

    account: Required[int]
    occurred_on: Required[date]
    amount: Required[Decimal]
    payee: int | None


class TransactionChanges(_Details, total=False):
    """What ``transaction_update`` changes: the keys given; splits and tags replace the old ones."""

    account: int
    occurred_on: date
    amount: Decimal


@dataclass
class Refs:
    """Accounts and categories of one organisation, fetched once for a call or a batch."""

    accounts: dict[int, Account] = field(default_factory=dict)
    categories: dict[int, Category] = field(default_factory=dict)


def _refs(ctx: OrgContext, rows: Iterable[Mapping[str, Any]]) -> Refs:
    account_ids, category_ids = set(), set()
    for row in rows:
        if row.get("account") is not None:
            account_ids.add(row["account"])
        if row.get("category") is not None:
            category_ids.add(row["category"])
        category_ids.update(s["category"] for s in row.get("splits") or () if s.get("category"))
    org = ctx.organization
    return Refs(
        accounts={a.pk: a for a in Account.objects.filter(organization=org, pk__in=account_ids)},
        categories={
            c.pk: c for c in Category.objects.filter(organization=org, pk__in=category_ids)
        },
    )


def _error(errors: FieldErrors, name: str, code: str, message: str) -> None:
    errors.setdefault(name, []).append({"code": code, "message": message})


def _check_metadata(metadata: Any, errors: FieldErrors) -> None:
    if not isinstance(metadata, dict):
        _error(errors, "metadata", "invalid_type", "Metadata is an object of strings.")
        return
    if len(metadata) > METADATA_MAX_KEYS:
        _error(errors, "metadata", "metadata_too_many_keys", f"At most {METADATA_MAX_KEYS} keys.")
    for key, value in metadata.items():
        if "\x00" in key or (isinstance(value, str) and "\x00" in value):
            _error(errors, "metadata", "metadata_null_character", "No NUL characters.")
        if len(key) > METADATA_MAX_KEY:
            _error(errors, "metadata", "metadata_key_too_long", f"Keys are ≤ {METADATA_MAX_KEY}.")
        if not isinstance(value, str):
            _error(errors, f"metadata.{key}", "invalid_type", "Metadata values are strings.")
        elif len(value) > METADATA_MAX_VALUE:
            _error(errors, f"metadata.{key}", "metadata_value_too_long", "Values are ≤ 500.")


TRANSFER_CATEGORY = (
    "A transfer moves money between your own accounts: it is neither income nor spending, so "
    "its legs take no income or expense category."
)


def _transfer_category_errors(row: Mapping[str, Any], refs: Refs, errors: FieldErrors) -> None:
    """A transfer leg's category (and its split lines') is empty or of the transfer kind."""
    named = [("category", row.get("category"))]
    named += [
        (f"splits.{i}.category", s.get("category")) for i, s in enumerate(row.get("splits") or [])
    ]
    for name, category_id in named:
        category = refs.categories.get(category_id) if category_id is not None else None
        if category is not None and category.kind != Category.Kind.TRANSFER:
            _error(errors, name, "transfer_category", TRANSFER_CATEGORY)


def _check_row(row: dict[str, Any], refs: Refs, *, transfer: bool = False) -> FieldErrors:
    """Rule checks for one transaction's full set of values; returns field errors."""
    errors: FieldErrors = {}
    if transfer:
        _transfer_category_errors(row, refs, errors)
    account = refs.accounts.get(row["account"]) if row.get("account") is not None else None
    if account is None:
        _error(errors, "account", "not_found", "No such account in this organisation.")
    category_id = row.get("category")
    if category_id is not None and category_id not in refs.categories:
        _error(errors, "category", "not_found", "No such category in this organisation.")
    if row.get("status") == Transaction.Status.RECONCILED:
        _error(errors, "status", "status_reconciled", "Only reconciling a statement sets this.")
    _check_metadata(row.get("metadata", {}), errors)
    if account is not None:
        try:
            check_precision(row["amount"], account.currency)
        except MoneyError as exc:
            _error(errors, "amount", exc.code, exc.message)
    splits = row.get("splits") or []
    for index, split in enumerate(splits):
        if split.get("category") is not None and split["category"] not in refs.categories:
            _error(errors, f"splits.{index}.category", "not_found", "No such category.")
        if account is not None:
            try:
                check_precision(split["amount"], account.currency)
            except MoneyError as exc:
                _error(errors, f"splits.{index}.amount", exc.code, exc.message)
    if splits and sum((s["amount"] for s in splits), Decimal(0)) != row["amount"]:
        _error(errors, "splits", "splits_sum_mismatch", "Split amounts must add up to the amount.")
    return errors


def _rules(errors: FieldErrors) -> RuleViolation:
    """One 422 for a row's errors; its code is theirs when they share one."""
    codes = {e["code"] for errs in errors.values() for e in errs}
    codes = {"invalid_reference" if c == "not_found" else c for c in codes}
    first = next(iter(errors.values()))[0]["message"]
    return RuleViolation(first, code=codes.pop() if len(codes) == 1 else None, fields=errors)


def _tags(ctx: OrgContext, names: Sequence[str]) -> list[Tag]:
    wanted = sorted({n.strip() for n in names if n.strip()})
    existing = {
        t.name: t for t in Tag.objects.filter(organization=ctx.organization, name__in=wanted)
    }
    missing = [Tag(organization=ctx.organization, name=n) for n in wanted if n not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {
            t.name: t for t in Tag.objects.filter(organization=ctx.organization, name__in=wanted)
        }
    return [existing[n] for n in wanted]


def _build(ctx: OrgContext, row: dict[str, Any], refs: Refs, seq: int) -> Transaction:
    account = refs.accounts[row["account"]]
    return Transaction(
        organization=ctx.organization,
        account=account,
        occurred_on=row["occurred_on"],
        amount=row["amount"],
        currency=account.currency,
        description=row.get("description", ""),
        counterparty=row.get("counterparty", ""),
        category_id=row.get("category"),
        payee_id=row.get("payee"),
        reference=row.get("reference", ""),
        notes=row.get("notes", ""),
        metadata=row.get("metadata", {}),
        status=row.get("status", Transaction.Status.PENDING),
        created_by=ctx.user,
        created_by_token=ctx.api_token,
        change_seq=seq,
    )


def _categorise(
    ctx: OrgContext, rows: Sequence[dict[str, Any]], refs: Refs
) -> list[Decision | None]:
    """Rules and payees (kore.payees) fill what the user left unset, in place: a category or
    split, notes, tags. Rules' categories join ``refs``. Writes nothing: ``_payees_set`` later
    gives the rows their payees, inside the write's transaction."""
    categoriser = Categoriser(
        ctx.organization, counterparties=[r.get("counterparty", "") for r in rows]
    )
    decisions: list[Decision | None] = []
    for row in rows:
        account = refs.accounts.get(row.get("account") or 0)
        if account is None:
            decisions.append(None)
            continue
        taken = {k for k in ("category", "payee") if k in row}
        taken |= {k for k in ("notes", "tags") if row.get(k)}
        if row.get("splits") or "category" in row:
            taken.add("split")
        if row.get("splits") or row.get("category") is not None:
            taken.add("transfer")  # the user's category says it is no transfer
        subject = Subject(
            description=row.get("description", ""), counterparty=row.get("counterparty", ""),
            amount=row["amount"], account_id=account.pk, currency=account.currency,
            occurred_on=row["occurred_on"], taken=frozenset(taken),
        )  # fmt: skip
        decisions.append(categoriser.decide(subject))
    for row, decision in zip(rows, decisions, strict=True):
        if decision is None:
            continue
        values = decision.values
        for name in ("category", "notes", "tags"):
            if name in values:
                row[name] = values[name]
        if "split" in values:
            currency = refs.accounts[row["account"]].currency
            row["splits"] = [
                {"category": category, "amount": amount}
                for category, amount in split_amounts(row["amount"], currency, values["split"])
            ]
    wanted = {r["category"] for r in rows if r.get("category")} | {
        s["category"] for r in rows for s in r.get("splits") or () if s.get("category")
    }
    if wanted - set(refs.categories):
        for category in Category.objects.filter(organization=ctx.organization, pk__in=wanted):
            refs.categories[category.pk] = category
    return decisions


def _payees_set(
    ctx: OrgContext, rows: Sequence[dict[str, Any]], decisions: Sequence[Decision | None]
) -> None:
    """Each row's payee (new ones created); call inside the write's transaction."""
    found = [d for d in decisions if d is not None]
    payees_settle(organization=ctx.organization, decisions=found, user=ctx.user)
    for row, decision in zip(rows, decisions, strict=True):
        if decision is not None:
            row.setdefault("payee", decision.payee_id)


def _transfers_join(
    ctx: OrgContext, seq: int, objs: Sequence[Transaction], decisions: Sequence[Decision | None]
) -> dict[int, str]:
    """Rows a rule moves to another account become transfer legs before they are saved (a row
    whose counter-leg cannot be made stays as it is: see ``transfers_join``). The rows left
    as they are, by their index in ``objs``, with the reason's code."""
    from .transfers import transfers_join  # transfers builds on this module

    legs = [
        (index, tx, d.values["transfer"])
        for index, (tx, d) in enumerate(zip(objs, decisions, strict=True))
        if d is not None and "transfer" in d.values
    ]
    skipped = transfers_join(ctx=ctx, seq=seq, legs=[(tx, account) for _, tx, account in legs])
    return {legs[leg][0]: reason for leg, reason in skipped.items()}


def _archived_conflict(accounts: Iterable[Account]) -> None:
    archived = [a for a in accounts if a.archived]
    if archived:
        raise Conflict(
            f"Account {archived[0].name!r} is archived and accepts no new transactions.",
            code="account_archived",
        )


@dataclass(frozen=True, slots=True)
class Created:
    """Transactions just created, and those a rule would have made a transfer leg but that
    were booked as they are: their index in the call, with the reason's code (one of
    ``kore.ledger.services.transfers.SKIP_REASONS``)."""

    transactions: list[Transaction]
    transfers_skipped: dict[int, str]


def transaction_create_many(
    *, ctx: OrgContext, rows: Sequence[dict[str, Any]]
) -> list[Transaction]:
    """Create up to 1,000 transactions, all or nothing; any bad row rejects the batch."""
    return transaction_create_many_reported(ctx=ctx, rows=rows).transactions


def transaction_create_many_reported(*, ctx: OrgContext, rows: Sequence[dict[str, Any]]) -> Created:
    """``transaction_create_many``, saying which rows a transfer rule left as they are."""
    if len(rows) > BATCH_LIMIT:
        raise RuleViolation(f"At most {BATCH_LIMIT} items per call.", code="batch_too_large")
    rows = [dict(row) for row in rows]
    refs = _refs(ctx, rows)
    decisions = _categorise(ctx, rows, refs)
    row_errors = [_check_row(row, refs) for row in rows]
    if any(row_errors):
        raise BatchRejected(row_errors)
    _archived_conflict(refs.accounts[row["account"]] for row in rows)
    with db_transaction.atomic():
        seq = ledger_version_bump(organization=ctx.organization)
        period_open_check(
            organization=ctx.organization,
            entries=((row["account"], row["occurred_on"]) for row in rows),
        )
        _payees_set(ctx, rows, decisions)
        objs = [_build(ctx, row, refs, seq) for row in rows]
        skipped = _transfers_join(ctx, seq, objs, decisions)
        created: list[Transaction] = bulk_create_with_history(
            objs, Transaction, default_user=ctx.user, custom_historical_attrs=audit_attrs()
        )
        _attach_children(ctx, created, rows)
    return Created(created, skipped)


def transaction_create(*, ctx: OrgContext, **values: Unpack[NewTransaction]) -> Transaction:
    """Record one transaction (with optional splits and tags)."""
    return transaction_create_reported(ctx=ctx, **values).transactions[0]


def transaction_create_reported(*, ctx: OrgContext, **values: Unpack[NewTransaction]) -> Created:
    """``transaction_create``, saying whether a transfer rule left the row as it is."""
    row: dict[str, Any] = dict(values)
    refs = _refs(ctx, [row])
    decisions = _categorise(ctx, [row], refs)
    errors = _check_row(row, refs)
    if errors:
        raise _rules(errors)
    _archived_conflict([refs.accounts[row["account"]]])
    with db_transaction.atomic():
        seq = ledger_version_bump(organization=ctx.organization)
        period_open_check(
            organization=ctx.organization, entries=[(row["account"], row["occurred_on"])]
        )
        _payees_set(ctx, [row], decisions)
        tx = _build(ctx, row, refs, seq)
        skipped = _transfers_join(ctx, seq, [tx], decisions)
        tx.save()
        _attach_children(ctx, [tx], [row])
    return Created([tx], skipped)


def _attach_children(
    ctx: OrgContext, txs: Sequence[Transaction], rows: Sequence[Mapping[str, Any]]
) -> None:
    splits = [
        Split(transaction=tx, category_id=s.get("category"), amount=s["amount"],
              memo=s.get("memo", ""), position=i)
        for tx, row in zip(txs, rows, strict=True)
        for i, s in enumerate(row.get("splits") or [])
    ]  # fmt: skip
    Split.objects.bulk_create(splits)
    all_names = {n for row in rows for n in row.get("tags") or []}
    if all_names:
        _link_tags(ctx, txs, rows, all_names)


def _link_tags(
    ctx: OrgContext,
    txs: Sequence[Transaction],
    rows: Sequence[Mapping[str, Any]],
    all_names: set[str],
) -> None:
    by_name = {t.name: t for t in _tags(ctx, sorted(all_names))}
    through = Transaction.tags.through
    links = [
        through(transaction_id=tx.pk, tag_id=by_name[name.strip()].pk)
        for tx, row in zip(txs, rows, strict=True)
        for name in {n.strip() for n in row.get("tags") or [] if n.strip()}
    ]
    through.objects.bulk_create(links, ignore_conflicts=True)


class BatchRejected(KoreError):
    """A batch with per-row errors, keyed ``items.{index}.{field}`` like the 400 shape errors."""

    status_code = 422
    code = "batch_rejected"
    message = "Some items break a rule; nothing was written."

    def __init__(self, row_errors: Sequence[FieldErrors]) -> None:
        super().__init__()
        self.row_errors = [
            {"index": i, "fields": errors} for i, errors in enumerate(row_errors) if errors
        ]
        self.fields = {
            f"items.{index}.{name}": errs
            for index, errors in enumerate(row_errors)
            for name, errs in errors.items()
        }


def _locked(ctx: OrgContext, tx_id: int, *, deleted: bool = False) -> Transaction:
    tx = (
        Transaction.objects.select_for_update()
        .filter(organization=ctx.organization, pk=tx_id, deleted_at__isnull=not deleted)
        .first()
    )
    if tx is None:
        raise NotFound()
    return tx


def _refuse_if_locked(tx: Transaction) -> None:
    if tx.status == Transaction.Status.RECONCILED:
        raise Conflict(
            "This transaction is reconciled; an admin must reopen its statement first.",
            code="transaction_locked",
        )


def transaction_update(
    *,
    ctx: OrgContext,
    tx_id: int,
    if_match: str | None = None,
    **changes: Unpack[TransactionChanges],
) -> Transaction:
    """Change some fields; splits and tags are replaced when given."""
    with db_transaction.atomic():
        # Lock order everywhere: account row, then the ledger state, then transaction rows.
        seq = ledger_version_bump(organization=ctx.organization)
        tx = _locked(ctx, tx_id)
        check_version(tx, if_match)
        _refuse_if_locked(tx)
        row = {name: getattr(tx, f"{name}_id" if name in ("account", "category") else name)
               for name in EDITABLE}  # fmt: skip
        row.update({k: v for k, v in changes.items() if k in EDITABLE})
        row["splits"] = changes.get("splits")
        if row["splits"] is None and "amount" in changes and tx.splits.exists():
            row["splits"] = list(tx.splits.values("category", "amount", "memo"))
        refs = _refs(ctx, [row])
        errors = _check_row(row, refs, transfer=tx.transfer_id is not None)
        if errors:
            raise _rules(errors)
        if tx.transfer_id and ("account" in changes or "amount" in changes):
            raise Conflict(
                f"This is a leg of transfer {tx.transfer_id}: change its amounts through "
                f"/transfers/{tx.transfer_id}/, which corrects both legs at once.",
                code="transfer_leg",
            )
        account = refs.accounts[row["account"]]
        if row["account"] != tx.account_id:
            _archived_conflict([account])
        # Where the row was and where it goes: neither may be a closed period.
        period_open_check(
            organization=ctx.organization,
            entries=[(tx.account_id, tx.occurred_on), (row["account"], row["occurred_on"])],
        )
        for name in EDITABLE:
            setattr(tx, f"{name}_id" if name in ("account", "category") else name, row[name])
        tx.currency = account.currency
        tx.version += 1
        tx.change_seq = seq
        tx.save()
        if "splits" in changes:
            tx.splits.all().delete()
        if "splits" in changes or "tags" in changes:
            if "tags" in changes:
                tx.tags.clear()
            _attach_children(
                ctx, [tx], [{"splits": changes.get("splits"), "tags": changes.get("tags")}]
            )
    return tx


def transaction_delete(*, ctx: OrgContext, tx_id: int, if_match: str | None = None) -> None:
    """Soft delete (restorable for 30 days); deleting one leg of a transfer deletes both."""
    with db_transaction.atomic():
        seq = ledger_version_bump(organization=ctx.organization)
        tx = _locked(ctx, tx_id)
        check_version(tx, if_match)
        legs = [tx]
        if tx.transfer_id:
            legs = list(
                Transaction.objects.select_for_update().filter(
                    transfer_id=tx.transfer_id, deleted_at__isnull=True
                )
            )
        for leg in legs:
            _refuse_if_locked(leg)
        period_open_check(
            organization=ctx.organization,
            entries=[(leg.account_id, leg.occurred_on) for leg in legs],
        )
        transactions_bulk_set(
            ctx=ctx,
            transactions=Transaction.objects.filter(pk__in=[leg.pk for leg in legs]),
            seq=seq,
            deleted_at=timezone.now(),
        )


def transaction_restore(*, ctx: OrgContext, tx_id: int) -> Transaction:
    """Bring back a soft-deleted transaction (and its transfer partner)."""
    with db_transaction.atomic():
        seq = ledger_version_bump(organization=ctx.organization)
        tx = _locked(ctx, tx_id, deleted=True)
        legs = Transaction.objects.filter(pk=tx.pk)
        if tx.transfer_id:
            legs = Transaction.objects.filter(transfer_id=tx.transfer_id)
        _archived_conflict(Account.objects.filter(pk__in=legs.values("account_id")))
        period_open_check(
            organization=ctx.organization, entries=legs.values_list("account_id", "occurred_on")
        )
        transactions_bulk_set(ctx=ctx, transactions=legs, seq=seq, deleted_at=None)
        tx.refresh_from_db()
    return tx


def transactions_purge_deleted(*, older_than_days: int = TOMBSTONE_DAYS) -> int:
    """Delete tombstones older than the retention; later change-feed cursors before them expire."""
    from ..models import LedgerState

    cutoff = timezone.now() - timedelta(days=older_than_days)
    doomed: QuerySet[Transaction] = Transaction.objects.filter(deleted_at__lt=cutoff)
    purged = 0
    for org_id in doomed.values_list("organization_id", flat=True).distinct():
        with db_transaction.atomic():
            rows = doomed.filter(organization_id=org_id)
            highest = max(rows.values_list("change_seq", flat=True), default=0)
            purged += rows.delete()[1].get("ledger.Transaction", 0)
            # Rows written around the services have no state row yet: record the purge anyway,
            # or older change-feed cursors would silently skip the purged deletions.
            LedgerState.objects.get_or_create(organization_id=org_id)
            LedgerState.objects.filter(organization_id=org_id, purged_through__lt=highest).update(
                purged_through=highest
            )
    return purged


def transactions_bulk_set(
    *, ctx: OrgContext, transactions: QuerySet[Transaction], seq: int, **values: Any
) -> list[Transaction]:
    """Set fields on many rows with one UPDATE batch and their audit rows; bumps each version.

    Call inside ``atomic()`` after ``ledger_version_bump`` (``seq``).
    """
    rows = list(transactions.select_for_update())
    for tx in rows:
        for name, value in values.items():
            setattr(tx, name, value)
        tx.change_seq, tx.version, tx.updated_at = seq, tx.version + 1, timezone.now()
    fields = [*values, "change_seq", "version", "updated_at"]
    bulk_update_with_history(
        rows, Transaction, fields, default_user=ctx.user, custom_historical_attrs=audit_attrs()
    )
    return rows
