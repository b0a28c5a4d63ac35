"""Kore's own CSV export read back into an organisation: rows, split lines, transfers and rates.

A bank import books one account's rows and knows nothing of categories, split lines or
transfers. Kore's export carries them (kore.exports.services.COLUMNS), and this reads them back
all or nothing: accounts by name (opened with the file's currency when missing), categories by
name (created at the top level when missing, with the kind their rows' signs show), split lines
with their categories and memos, and each transfer from its two legs with its rate. Whatever it
cannot rebuild exactly is refused with the line and column, never booked flatter than it was:
a transfer with one leg in the file, a rate that disagrees with its legs, a category name held
by two categories, an account that already holds transactions (a second import would double it).

A reconciled row comes back cleared: statements are not part of the export.
"""

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction as db_transaction

from kore.core.exceptions import Conflict, FieldErrors, RuleViolation
from kore.core.money import MoneyError, check_precision, is_currency, parse_amount
from kore.exports.services import COLUMNS
from kore.ledger.models import Account, Category, Transaction
from kore.ledger.services.accounts import account_create
from kore.ledger.services.categories import category_create
from kore.ledger.services.transactions import (
    BATCH_LIMIT,
    transaction_create_many,
    transaction_update,
)
from kore.ledger.services.transfers import RATE_PLACES, transfer_create
from kore.orgs.scoping import OrgContext

ERRORS_SHOWN = 50
STATUSES = {s.value for s in Transaction.Status}


@dataclass
class Line:
    """One row of the file, read and checked."""

    line: int
    source_id: int
    occurred_on: date
    account: str
    amount: Decimal
    currency: str
    description: str
    counterparty: str
    category: str
    tags: list[str]
    reference: str
    notes: str
    status: str
    splits: list[dict[str, Any]]
    transfer: str
    transfer_account: str
    rate: Decimal | None


@dataclass
class Imported:
    """What an import of Kore's export wrote."""

    transactions: int = 0
    transfers: int = 0
    accounts_created: list[str] = field(default_factory=list)
    categories_created: list[str] = field(default_factory=list)


class _Errors:
    def __init__(self) -> None:
        self.fields: FieldErrors = {}
        self.codes: list[str] = []

    def add(self, line: int, column: str, code: str, message: str) -> None:
        self.add_field(f"lines.{line}.{column}", code, message)

    def add_field(self, name: str, code: str, message: str) -> None:
        if len(self.fields) < ERRORS_SHOWN:
            self.fields.setdefault(name, []).append({"code": code, "message": message})
        self.codes.append(code)

    def raise_any(self) -> None:
        if not self.codes:
            return
        codes = set(self.codes)
        first = next(iter(self.fields.values()))[0]["message"]
        raise RuleViolation(
            f"{len(self.codes)} problem(s) in the file, nothing was imported; first: {first}",
            code=codes.pop() if len(codes) == 1 else "kore_csv_invalid",
            fields=self.fields,
        )


def _amount(text: str, currency: str) -> Decimal:
    value = parse_amount(text.strip())
    if is_currency(currency):
        check_precision(value, currency)
    return value


def _splits(text: str, currency: str) -> list[dict[str, Any]]:
    if not text.strip():
        return []
    try:
        items = json.loads(text)
    except ValueError as exc:
        raise MoneyError("kore_csv_invalid", "The split lines are not the export's JSON.") from exc
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and set(i) == {"category", "amount", "memo"} for i in items
    ):
        raise MoneyError("kore_csv_invalid", "Split lines are [{category, amount, memo}].")
    out = []
    for item in items:
        if not all(isinstance(item[k], str) for k in ("category", "amount", "memo")):
            raise MoneyError("kore_csv_invalid", "A split line's values are strings.")
        out.append({**item, "amount": _amount(item["amount"], currency)})
    return out


def _line(number: int, cells: dict[str, str]) -> Line:
    """One row; a ``MoneyError`` (its ``code``, ``message``) carries the column in its notes."""
    column = "id"
    try:
        source_id = int(cells["id"])
        column = "date"
        occurred_on = date.fromisoformat(cells["date"])
        column = "currency"
        currency = cells["currency"]
        if not is_currency(currency):
            raise MoneyError("currency_unknown", "Not an ISO 4217 currency with minor units.")
        column = "amount"
        amount = _amount(cells["amount"], currency)
        column = "status"
        if cells["status"] not in STATUSES:
            raise MoneyError("kore_csv_invalid", f"One of {', '.join(sorted(STATUSES))}.")
        column = "splits"
        splits = _splits(cells["splits"], currency)
        column = "rate"
        rate = Decimal(cells["rate"]) if cells["rate"].strip() else None
    except (ValueError, InvalidOperation) as exc:
        code = exc.code if isinstance(exc, MoneyError) else "kore_csv_invalid"
        message = exc.message if isinstance(exc, MoneyError) else "Not the export's value here."
        error = MoneyError(code, message)
        error.add_note(column)
        raise error from exc
    status = cells["status"]
    return Line(
        line=number, source_id=source_id, occurred_on=occurred_on, account=cells["account"],
        amount=amount, currency=currency, description=cells["description"],
        counterparty=cells["counterparty"], category=cells["category"],
        tags=[t for t in cells["tags"].split(";") if t.strip()], reference=cells["reference"],
        notes=cells["notes"],
        status=Transaction.Status.CLEARED if status == Transaction.Status.RECONCILED else status,
        splits=splits, transfer=cells["transfer"].strip(),
        transfer_account=cells["transfer_account"], rate=rate,
    )  # fmt: skip


def lines_read(content: bytes, errors: _Errors) -> list[Line]:
    """Every row of the file; a file that is not Kore's CSV export is refused at once."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuleViolation(
            "Kore's export is UTF-8; this file is not.", code="kore_csv_invalid"
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or tuple(header) != COLUMNS:
        raise RuleViolation(
            f"Not Kore's CSV export: its header is {','.join(COLUMNS)}.",
            code="kore_csv_invalid",
            fields={"file": [{"code": "kore_csv_invalid", "message": "Unexpected header."}]},
        )
    lines: list[Line] = []
    for number, fields in enumerate(reader, start=2):
        if not fields:
            continue
        if len(fields) != len(COLUMNS):
            errors.add(number, "row", "kore_csv_invalid", f"{len(COLUMNS)} cells expected.")
            continue
        try:
            lines.append(_line(number, dict(zip(COLUMNS, fields, strict=True))))
        except MoneyError as exc:
            errors.add(number, (exc.__notes__ or ["row"])[0], exc.code, exc.message)
    return lines


@dataclass
class _Plan:
    plain: list[Line]
    transfers: list[tuple[Line, Line]]


def _plan(lines: list[Line], errors: _Errors) -> _Plan:
    """Split rows into plain ones and transfers, each transfer from exactly its two legs."""
    plain: list[Line] = []
    legs: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        (legs[line.transfer] if line.transfer else plain).append(line)
    transfers: list[tuple[Line, Line]] = []
    for found in legs.values():
        out = [leg for leg in found if leg.amount < 0]
        into = [leg for leg in found if leg.amount > 0]
        if len(found) != 2 or len(out) != 1 or len(into) != 1:
            for leg in found:
                errors.add(leg.line, "transfer", "kore_csv_transfer_incomplete",
                           "A transfer needs both its legs in the file, one leaving and one "
                           "arriving; export both accounts.")  # fmt: skip
            continue
        source, target = out[0], into[0]
        if source.occurred_on != target.occurred_on or source.account == target.account:
            errors.add(target.line, "transfer", "kore_csv_transfer_incomplete",
                       "A transfer's legs share a date and sit in two accounts.")  # fmt: skip
            continue
        rate = (target.amount / -source.amount).quantize(RATE_PLACES)
        for leg in (source, target):
            if leg.rate is not None and leg.rate != rate:
                errors.add(leg.line, "rate", "kore_csv_rate_mismatch",
                           f"The legs move at a rate of {rate.normalize():f}, "
                           f"not {leg.rate:f}.")  # fmt: skip
        transfers.append((source, target))
    return _Plan(plain, transfers)


def _accounts(
    ctx: OrgContext, lines: list[Line], errors: _Errors, done: Imported
) -> dict[str, int]:
    """The file's accounts by name: the organisation's, or opened in the file's currency."""
    currency: dict[str, str] = {}
    for line in lines:
        if currency.setdefault(line.account, line.currency) != line.currency:
            errors.add(line.line, "currency", "kore_csv_invalid",
                       f"Account {line.account!r} is in {currency[line.account]}.")  # fmt: skip
    existing = {
        a.name: a for a in Account.objects.filter(organization=ctx.organization, name__in=currency)
    }
    for name, account in existing.items():
        if account.currency != currency[name]:
            first = next(line for line in lines if line.account == name)
            errors.add(first.line, "currency", "kore_csv_invalid",
                       f"Kore's account {name!r} is in {account.currency}.")  # fmt: skip
    if Transaction.objects.filter(account__in=existing.values(), deleted_at__isnull=True).exists():
        raise Conflict(
            "An account the file names already holds transactions: importing into it could book "
            "them twice. Import into accounts without transactions.",
            code="kore_csv_accounts_in_use",
        )
    errors.raise_any()
    ids = {name: account.pk for name, account in existing.items()}
    for name in sorted(set(currency) - set(existing)):
        ids[name] = account_create(ctx=ctx, name=name, currency=currency[name]).pk
        done.accounts_created.append(name)
    return ids


def _kind(line: Line, amount: Decimal) -> str:
    if line.transfer:
        return Category.Kind.TRANSFER
    return Category.Kind.INCOME if amount > 0 else Category.Kind.EXPENSE


def _category_uses(plan: _Plan) -> dict[str, set[str]]:
    """Each category name with the kinds its rows show: transfer, income (in) or expense (out)."""
    uses: dict[str, set[str]] = defaultdict(set)
    transfer_legs = [leg for pair in plan.transfers for leg in pair]
    for line in plan.plain + transfer_legs:
        if line.category:
            uses[line.category].add(_kind(line, line.amount))
        for split in line.splits:
            if split["category"]:
                uses[split["category"]].add(_kind(line, split["amount"]))
    return uses


def _categories(ctx: OrgContext, plan: _Plan, errors: _Errors, done: Imported) -> dict[str, int]:
    """The file's categories by name: the organisation's one of that name, or a new one."""
    uses = _category_uses(plan)
    held: dict[str, list[int]] = defaultdict(list)
    for pk, name in Category.objects.filter(
        organization=ctx.organization, name__in=uses
    ).values_list("pk", "name"):
        held[name].append(pk)
    for name in uses:
        if len(held[name]) > 1:
            errors.add_field(
                f"categories.{name}", "kore_csv_category_unclear",
                f"Several categories are named {name!r}; rename all but one.",
            )  # fmt: skip
        elif not held[name] and len(uses[name]) > 1:
            errors.add_field(f"categories.{name}", "kore_csv_category_unclear",
                             f"{name!r} is used for money in and out: create it (with its kind) "
                       "before importing.")  # fmt: skip
    errors.raise_any()
    ids = {name: pks[0] for name, pks in held.items() if pks}
    for name in sorted(set(uses) - set(ids)):
        ids[name] = category_create(ctx=ctx, name=name, kind=next(iter(uses[name]))).pk
        done.categories_created.append(name)
    return ids


def _values(line: Line, categories: dict[str, int]) -> dict[str, Any]:
    return {
        "occurred_on": line.occurred_on, "amount": line.amount, "description": line.description,
        "counterparty": line.counterparty, "category": categories.get(line.category),
        "reference": line.reference, "notes": line.notes, "status": line.status,
        "tags": line.tags,
        "splits": [
            {"category": categories.get(s["category"]), "amount": s["amount"], "memo": s["memo"]}
            for s in line.splits
        ],
    }  # fmt: skip


def kore_export_import(*, ctx: OrgContext, content: bytes) -> Imported:
    """Book Kore's CSV export into the caller's organisation, all or nothing (see module)."""
    errors = _Errors()
    lines = lines_read(content, errors)
    errors.raise_any()
    plan = _plan(lines, errors)
    errors.raise_any()
    done = Imported()
    with db_transaction.atomic():
        accounts = _accounts(ctx, lines, errors, done)
        categories = _categories(ctx, plan, errors, done)
        # The export's ids keep the order the rows were entered in.
        plain = sorted(plan.plain, key=lambda line: line.source_id)
        rows = [{**_values(line, categories), "account": accounts[line.account]} for line in plain]
        for start in range(0, len(rows), BATCH_LIMIT):
            transaction_create_many(ctx=ctx, rows=rows[start : start + BATCH_LIMIT])
        for source, target in sorted(plan.transfers, key=lambda pair: pair[0].source_id):
            transfer = transfer_create(
                ctx=ctx, from_account=accounts[source.account],
                to_account=accounts[target.account], amount=-source.amount,
                to_amount=target.amount, occurred_on=source.occurred_on,
                description=source.description,
            )  # fmt: skip
            for leg in transfer.legs.order_by("amount"):
                line = source if leg.amount < 0 else target
                values = _values(line, categories)
                del values["amount"], values["occurred_on"]
                if not values["splits"]:
                    del values["splits"]
                transaction_update(ctx=ctx, tx_id=leg.pk, **values)
        done.transactions = len(rows) + 2 * len(plan.transfers)
        done.transfers = len(plan.transfers)
    return done
