"""A small ledger, every filter of the transaction list, and what each filter must return worked
out in plain Python: the oracle the list's ORM and SQL paths are held to, on PostgreSQL (in the
test suite) and on SQLite (the embedded build, in a process of its own)."""

from datetime import date
from decimal import Decimal
from typing import Any

from kore.ledger import transaction_list as tl
from kore.ledger.models import Account, Attachment, Category, Transaction
from kore.ledger.services.transactions import transaction_create
from kore.orgs.scoping import OrgContext


def seed(ctx: OrgContext) -> dict[str, Any]:
    org = ctx.organization
    eur = Account.objects.create(organization=org, name="Main", currency="EUR")
    usd = Account.objects.create(organization=org, name="Dollars", currency="USD")
    food = Category.objects.create(organization=org, name="Food")
    lunch = Category.objects.create(organization=org, name="Lunch", parent=food, depth=2)
    cafe = Category.objects.create(organization=org, name="Cafe", parent=lunch, depth=3)
    home = Category.objects.create(organization=org, name="Home")
    rows: list[dict[str, Any]] = [
        {"account": eur, "amount": "-40.00", "category": food, "counterparty": "Market",
         "tags": ["weekly"]},
        {"account": eur, "amount": "-3.20", "category": cafe, "counterparty": "ACME Cafe",
         "notes": "with Sam", "status": "cleared"},
        {"account": eur, "amount": "-25.40", "category": home, "reference": "INV-50%_1",
         "splits": [{"amount": "-20.00", "category": home, "memo": "lamp"},
                    {"amount": "-5.40", "category": lunch, "memo": "Sandwich"}]},
        {"account": usd, "amount": "-30.00", "splits": [
            {"amount": "-10.00", "category": cafe}, {"amount": "-20.00", "memo": "no idea"}]},
        {"account": eur, "amount": "2500.00", "counterparty": "Employer", "status": "cleared"},
        {"account": usd, "amount": "-7.77", "counterparty": "acme cafe", "tags": ["weekly", "x"]},
        {"account": eur, "amount": "-900.00", "category": home, "description": "Rent 50% off"},
    ]  # fmt: skip
    made = []
    for day, row in enumerate(rows, start=1):
        body = dict(row)
        body["account"] = row["account"].pk
        body["amount"] = Decimal(row["amount"])
        if "category" in row:
            body["category"] = row["category"].pk
        if "splits" in row:
            body["splits"] = [
                {**s, "amount": Decimal(s["amount"]),
                 **({"category": s["category"].pk} if "category" in s else {})}
                for s in row["splits"]
            ]  # fmt: skip
        made.append(transaction_create(ctx=ctx, occurred_on=date(2026, 3, day % 4 + 1), **body))
    Attachment.objects.create(
        organization=org, transaction=made[-1], path=f"t/{made[-1].pk}", original_name="r.pdf",
        content_type="application/pdf", size=1, sha256="0" * 64,
    )  # fmt: skip
    return {"eur": eur, "usd": usd, "food": food, "lunch": lunch, "cafe": cafe, "home": home}


def cases(refs: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Filters as a query string spells them (read by ``tl.parse_filters``)."""
    return {
        "nothing": {},
        "dates": {"date_from": "2026-03-02", "date_to": "2026-03-03"},
        "amounts": {"amount_min": "-30", "amount_max": "-3.20"},
        "account": {"account": str(refs["usd"].pk)},
        "category subtree": {"category": str(refs["food"].pk)},
        "category through a split line": {"category": str(refs["lunch"].pk)},
        "category leaf": {"category": str(refs["cafe"].pk)},
        "uncategorised": {"uncategorized": "true"},
        "categorised": {"uncategorized": "false"},
        "status": {"status": "cleared"},
        "tag": {"tag": "weekly"},
        "text with LIKE wildcards": {"q": "50%_"},
        "text in notes": {"q": "SAM"},
        "text in a split memo": {"q": "sandwich"},
        "counterparty any case": {"counterparty": "Acme cafe"},
        "currency": {"currency": "USD"},
        "with attachments": {"has_attachments": "true"},
        "without attachments": {"has_attachments": "false"},
        "combined": {"currency": "EUR", "uncategorized": "false", "amount_max": "0"},
    }


def _subtree(category_id: int) -> set[int]:
    found, frontier = {category_id}, {category_id}
    while frontier:
        frontier = set(Category.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        found |= frontier
    return found


def expected(organization: Any, f: tl.TransactionFilter) -> list[int]:
    """The ids ``f`` selects, newest first, decided row by row in Python."""
    out = []
    live = Transaction.objects.filter(organization=organization, deleted_at__isnull=True)
    for tx in live.prefetch_related("splits", "tags"):
        splits = list(tx.splits.all())
        split_categories = [s.category_id for s in splits]
        texts = [tx.description, tx.counterparty, tx.notes, tx.reference, *(s.memo for s in splits)]
        checks = [
            f.date_from is None or tx.occurred_on >= f.date_from,
            f.date_to is None or tx.occurred_on <= f.date_to,
            f.amount_min is None or tx.amount >= f.amount_min,
            f.amount_max is None or tx.amount <= f.amount_max,
            f.account is None or tx.account_id == f.account,
            f.currency is None or tx.currency == f.currency,
            f.status is None or tx.status == f.status,
            f.category is None or bool(_subtree(f.category) & {tx.category_id, *split_categories}),
            f.uncategorized is None
            or f.uncategorized
            == ((tx.category_id is None and not splits) or None in split_categories),
            f.tag is None or f.tag in {t.name for t in tx.tags.all()},
            f.q is None or any(f.q.lower() in text.lower() for text in texts),
            f.counterparty is None or tx.counterparty.lower() == f.counterparty.lower(),
            f.has_attachments is None
            or f.has_attachments == Attachment.objects.filter(transaction=tx).exists(),
        ]
        if all(checks):
            out.append((tx.occurred_on, tx.pk))
    return [pk for _, pk in sorted(out, reverse=True)]


def walk(organization: Any, f: tl.TransactionFilter) -> list[int]:
    """Every id ``tl.page`` (the ORM path) gives, two rows a page, following the cursor."""
    ids: list[int] = []
    cursor = None
    while True:
        rows, cursor = tl.page(organization=organization, filters=f, cursor=cursor, limit=2)
        ids += [row["id"] for row in rows]
        if cursor is None:
            return ids
