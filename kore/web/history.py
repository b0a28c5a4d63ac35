"""A transaction's audit trail as a person reads it: names instead of ids, amounts in the
currency's format, and only the fields a person edits (no creator ids, versions or sequence
numbers). The API's audit feed (kore.ledger.selectors.audit) keeps every field."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kore.ledger.models import Account, Category, Transaction

from .templatetags.web import money

# What the History panel shows, in this order, with its label.
SHOWN = {
    "occurred_on": "Date", "amount": "Amount", "account": "Account", "category": "Category",
    "description": "Description", "counterparty": "Counterparty", "reference": "Reference",
    "status": "Status", "notes": "Notes",
}  # fmt: skip
STATUS = dict(Transaction.Status.choices)


@dataclass
class Change:
    label: str
    before: str
    after: str


@dataclass
class Entry:
    action: str
    at: datetime
    actor: str
    changes: list[Change] = field(default_factory=list)


class _Names:
    def __init__(self, accounts: list[Account], categories: list[Category]) -> None:
        self.accounts = {a.pk: a for a in accounts}
        self.categories = {c.pk: c.name for c in categories}

    def text(self, name: str, value: Any, currency: str) -> str:
        if value is None or value == "":
            return ""
        if name == "account":
            account = self.accounts.get(value)
            return account.name if account else "a deleted account"
        if name == "category":
            return self.categories.get(value, "a deleted category")
        if name == "amount":
            return f"{money(value, currency)} {currency}"
        if name == "status":
            return str(STATUS.get(value, value))
        if name == "occurred_on":
            return date.fromisoformat(value).strftime("%d %b %Y")
        return str(value)


def _action(raw: dict[str, Any]) -> str:
    restored = raw["changes"].get("deleted_at", {})
    if raw["action"] == "updated" and restored.get("before") and not restored.get("after"):
        return "restored"
    return str(raw["action"])


def history_entries(
    entries: list[dict[str, Any]],
    *,
    accounts: list[Account],
    categories: list[Category],
    currency: str,
) -> list[Entry]:
    """The audit feed's entries (newest first) for the History panel; an edit that changed
    nothing shown (a version bump, a tag) is left out."""
    names = _Names(accounts, categories)
    out = []
    for raw in entries:
        action = _action(raw)
        changes = raw["changes"]
        recorded = changes.get("currency") or {}
        shown_in = recorded.get("after") or recorded.get("before") or currency
        shown = []
        if action in ("created", "updated"):
            for name, label in SHOWN.items():
                if name not in changes:
                    continue
                before = names.text(name, changes[name].get("before"), shown_in)
                after = names.text(name, changes[name].get("after"), shown_in)
                if before != after:
                    shown.append(Change(label, before, after))
        if action == "updated" and not shown:
            continue
        actor = raw["actor"]["email"] or "an API token"
        out.append(Entry(action, datetime.fromisoformat(raw["at"]), actor, shown))
    return out
