"""Test helpers for the web pages: a signed-in browser client and a small ledger."""

from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

from django.test import Client

from kore.core.testing import OrgWorld
from kore.ledger.models import Account, Category, Transaction
from kore.ledger.services.accounts import account_create
from kore.ledger.services.categories import category_create
from kore.ledger.services.transactions import transaction_create
from kore.orgs.models import Role, User
from kore.orgs.scoping import OrgContext


def browser(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def owner_ctx(world: OrgWorld) -> OrgContext:
    return OrgContext(world.org, Role.OWNER, world.owner, None)


def ledger(world: OrgWorld, count: int = 3) -> dict[str, Any]:
    """An account, two categories and ``count`` transactions, written through the services."""
    ctx = owner_ctx(world)
    account: Account = account_create(
        ctx=ctx, name="Current", currency="EUR", opening_balance=Decimal("100.00")
    )
    food: Category = category_create(ctx=ctx, name="Food")
    travel: Category = category_create(ctx=ctx, name="Travel")
    txs: list[Transaction] = [
        transaction_create(
            ctx=ctx,
            account=account.pk,
            occurred_on=f"2026-03-{i + 1:02d}",
            amount=Decimal(f"-{i + 1}.50"),
            description=f"Lunch {i}",
            category=food.pk,
            tags=["team"] if i == 0 else [],
        )
        for i in range(count)
    ]
    return {"account": account, "food": food, "travel": travel, "txs": txs}


def page(world: OrgWorld, path: str = "") -> str:
    return f"/o/{world.org.slug}/{path}"


class _FormReader(HTMLParser):
    """What a browser would submit from one form, its controls left as the page set them."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.skip = form_id, False, 0
        self.data: list[tuple[str, str]] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if tag == "template":  # rows a script copies; not submitted
            self.skip += 1
        if not self.inside or self.skip:
            return
        name = a.get("name", "")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.data.append((name, a.get("value", "on" if "checked" in a else "")))
        elif tag == "select":
            self._select, self._options = name, []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = name, ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "template":
            self.skip -= 1
        elif tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = [v for v, on in self._options if on] or [v for v, _ in self._options[:1]]
            self.data.extend((self._select, v) for v in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = self._text[1:] if self._text.startswith("\n") else self._text
            self.data.append((self._textarea, text.replace("\n", "\r\n")))
            self._textarea = None


def form_data(html: str, form_id: str) -> dict[str, str]:
    """The form's fields as a browser submits them unchanged (a textarea's lines as CRLF)."""
    reader = _FormReader(form_id)
    reader.feed(html)
    return dict(reader.data)


def rule_post(
    name: str,
    conditions: list[dict[str, Any]],
    split: tuple[tuple[int, str], ...] = (),
    **actions: Any,
) -> dict[str, str]:
    """The rule editor's post: condition rows (field, op and the row's inputs: value, low,
    high, account, payee, direction), split lines (category, percent) and the actions."""
    data = {
        "name": name,
        "conditions-TOTAL_FORMS": str(len(conditions)),
        "conditions-INITIAL_FORMS": "0",
        "split-TOTAL_FORMS": str(len(split)),
        "split-INITIAL_FORMS": "0",
    }
    for index, row in enumerate(conditions):
        data.update({f"conditions-{index}-{key}": str(value) for key, value in row.items()})
    for index, (category, percent) in enumerate(split):
        data.update({f"split-{index}-category": str(category), f"split-{index}-percent": percent})
    data.update({key: str(value) for key, value in actions.items()})
    return data
