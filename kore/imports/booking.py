"""What an import books of each row the reader reports: the one place that judges the bank's
currency and state (readers report what the file says; they never decide).

* Currency: a row is booked when its currency is the account's (or the file does not say), or
  when the bank also gives the amount in the account's currency; then the amount booked is that
  one and the other is kept as ``original_amount``/``original_currency``. Any other row is
  refused with ``currency_mismatch``: booking 100 USD as 100 EUR is wrong money.
* Bank state: ``reverted`` (reversed or cancelled) rows are skipped and counted; ``pending`` rows
  are booked with ``bank_state`` pending, and a later booked row replaces them (``pending_pairs``).
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from kore.core.money import MoneyError, check_precision
from kore.ledger.iban import account_ref_normalise

from .readers import Row, RowError
from .readers.base import row_replace


@dataclass
class BookingCounts:
    reverted: int = 0
    pending: int = 0


class Booker:
    """Turns the reader's stream into what is booked: ``Row`` (in the account's currency),
    ``RowError`` (refused), or nothing (skipped reverted rows, counted in ``counts``)."""

    def __init__(self, currency: str, account_refs: Iterable[str] = (), *,
                 strict: bool = False) -> None:  # fmt: skip
        self.currency = currency
        self.counts = BookingCounts()
        # The accounts (IBAN or number) of the file this import books; empty: every row. Rows
        # of other accounts are another job's (statement files), or an error (``strict``: a CSV
        # is one account's, so a row naming another is a mistake to show, not to drop).
        self.account_refs = frozenset(account_refs)
        self.strict = strict

    def __call__(self, items: Iterable[Row | RowError]) -> Iterator[Row | RowError]:
        refs = self.account_refs
        for item in items:
            if isinstance(item, RowError):
                yield item
                continue
            if refs and item.account_ref and account_ref_normalise(item.account_ref) not in refs:
                if self.strict:
                    yield RowError(
                        item.line, "account_ref", "account_mismatch",
                        f"This row is of account {item.account_ref}; the file's first rows are "
                        f"of {', '.join(sorted(refs))}. Import each account's rows into its own "
                        "account.",
                    )  # fmt: skip
                continue  # another account's statement: its own job books it
            if item.bank_state == "reverted":
                self.counts.reverted += 1
                continue
            booked = self.book(item)
            if isinstance(booked, Row) and booked.bank_state == "pending":
                self.counts.pending += 1
            yield booked

    def book(self, row: Row) -> Row | RowError:
        account = self.currency
        stated = (row.currency or account).upper()
        original = (row.original_currency or "").upper()
        if stated == account:
            if original == account or row.original_amount is None or not original:
                # An "original" in the account's own currency says nothing more.
                return row_replace(row, currency=account, original_amount=None,
                                   original_currency="")  # fmt: skip
            return _with_original(row, account, row.original_amount, original)
        if original == account and row.original_amount is not None:
            # The sign is the file's direction; some banks state the other amount unsigned.
            amount = row.original_amount
            if row.amount:
                amount = abs(amount).copy_sign(row.amount)
            try:
                check_precision(amount, account)
            except MoneyError as exc:
                return RowError(row.line, "amount", exc.code, f"{exc.message} Got {amount}.")
            return _with_original(replace(row, amount=amount), account, row.amount, stated)
        return RowError(
            row.line,
            "currency",
            "currency_mismatch",
            f"The row is in {stated}; the account is in {account}. Import it into an account "
            f"kept in {stated}, or give the amount in {account} as well.",
        )


def _with_original(row: Row, account: str, original: Decimal, currency: str) -> Row:
    """``row`` booked in ``account``'s currency, keeping the bank's other amount: as the
    transaction's ``original_amount`` when it is a valid amount of an ISO 4217 currency, else in
    its metadata (the text as the bank gave it)."""
    original = abs(original).copy_sign(row.amount) if row.amount else original
    try:
        check_precision(original, currency)
    except MoneyError:
        metadata = {**(row.metadata or {}), "original_amount": f"{original} {currency}"}
        return replace(row, currency=account, original_amount=None, original_currency="",
                       metadata=metadata)  # fmt: skip
    return replace(row, currency=account, original_amount=original, original_currency=currency)


@dataclass(frozen=True, slots=True)
class Pending:
    """A live bank-pending transaction of the account."""

    id: int
    occurred_on: date
    amount: Decimal
    bank_id: str


@dataclass(frozen=True, slots=True)
class Booked:
    """A booked row of the file that might replace a pending transaction."""

    line: int
    occurred_on: date
    amount: Decimal
    bank_id: str


def pending_pairs(
    pending: Iterable[Pending], booked: Iterable[Booked], *, days: int
) -> list[tuple[Booked, Pending]]:
    """Which booked row replaces which pending transaction, one to one: the bank's own id first;
    else the same amount dated within ``days``, the nearest date first (then file order)."""
    waiting = sorted(pending, key=lambda p: p.id)
    rows = sorted(booked, key=lambda b: b.line)
    pairs: list[tuple[Booked, Pending]] = []
    used_lines: set[int] = set()
    taken: set[int] = set()
    by_bank_id = {p.bank_id: p for p in waiting if p.bank_id}
    for row in rows:
        found = by_bank_id.get(row.bank_id) if row.bank_id else None
        if found is not None and found.id not in taken:
            pairs.append((row, found))
            used_lines.add(row.line)
            taken.add(found.id)
    for p in waiting:
        if p.id in taken:
            continue
        candidates = [
            r for r in rows
            if r.line not in used_lines and r.amount == p.amount
            and abs((r.occurred_on - p.occurred_on).days) <= days
            and not (r.bank_id and p.bank_id)  # two different bank ids: two transactions
        ]  # fmt: skip
        if candidates:
            best = min(candidates, key=lambda r: (abs(r.occurred_on - p.occurred_on), r.line))
            pairs.append((best, p))
            used_lines.add(best.line)
            taken.add(p.id)
    return pairs
