"""Category suggestions on the transactions page and an import's preview: htmx fragments
loaded beside the rows (one request a page of rows), and accepting one with a click or a key."""

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from kore.core.exceptions import KoreError
from kore.imports.selectors import import_job_get
from kore.ledger.models import Transaction
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext
from kore.suggestions import selectors
from kore.suggestions.engine import Suggestion
from kore.suggestions.services import suggestion_accept

from ..access import error_page, org_page, render_page
from .transactions import _row_response

MAX_ROWS = 100  # a page of the transactions list is 50


@dataclass(frozen=True)
class Shown:
    """One row's suggestions as the fragment shows them."""

    cell: str  # the id of the cell they go into
    tx_id: int | None  # None: nothing to accept yet (a dry run's row)
    suggestions: list[dict[str, Any]]
    applied: Any = None
    accept_url: str = ""


def _named(org: OrgContext, found: list[list[Suggestion]]) -> list[list[dict[str, Any]]]:
    names = selectors.categories_named(
        organization=org.organization, ids={s.category_id for row in found for s in row}
    )
    return [
        [{"id": s.category_id, "name": names[s.category_id].name,
          "percent": round(s.confidence * 100)} for s in row if s.category_id in names]
        for row in found
    ]  # fmt: skip


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values[:MAX_ROWS] if v.isdigit()]


@org_page()
def transaction_suggestions(request: HttpRequest, org: OrgContext) -> HttpResponse:
    """Out-of-band cells: each uncategorised row's category cell with its suggestions."""
    rows = selectors.transactions_for_suggestion(
        organization=org.organization, tx_ids=_ids(request.GET.getlist("transaction"))
    )
    texts = [selectors.text_of(tx) if selectors.needs_category(tx) else None for tx in rows]
    found, _ = selectors.suggestions_for(organization=org.organization, texts=texts)
    shown = [
        Shown(f"cat-{tx.pk}", tx.pk, named, accept_url=_accept_url(org, tx.pk))
        for tx, named in zip(rows, _named(org, found), strict=True)
        if named
    ]
    return render_page(request, "web/_suggestions.html", _context(org, shown, "row"))


def _accept_url(org: OrgContext, tx_id: int) -> str:
    return reverse("web:suggestion-accept", args=[org.organization.slug, tx_id])


def _context(org: OrgContext, shown: list[Shown], target: str) -> dict[str, Any]:
    return {"shown": shown, "target": target, "can_accept": org.at_least(Role.MEMBER)}


@org_page()
def import_suggestions(request: HttpRequest, org: OrgContext, job_id: int) -> HttpResponse:
    """Out-of-band cells of an import's preview: the suggestions for each booked row, and, once
    imported, what was applied to it."""
    job = import_job_get(organization=org.organization, job_id=job_id)
    if job is None:
        return error_page(request, 404, "There is no such import.")
    lines, found, _ = selectors.import_preview_suggestions(job=job)
    booked: dict[int, Transaction] = {}
    if not job.dry_run:
        booked = {
            tx.import_line: tx
            for tx in Transaction.objects.filter(
                account_id=job.account_id, import_job=job, import_line__in=lines
            ).only("id", "import_line", "category_id", "has_splits", "transfer_id", "deleted_at")
            if tx.import_line is not None
        }
    applied = selectors.applied_suggestions_of(
        organization=org.organization, tx_ids=[tx.pk for tx in booked.values()]
    )
    shown: list[Shown] = []
    for line, named in zip(lines, _named(org, found), strict=True):
        tx = booked.get(line)
        if tx is not None and not selectors.needs_category(tx):
            shown.append(Shown(f"isg-{line}", None, [], applied.get(tx.pk)))
        elif named:
            url = _accept_url(org, tx.pk) if tx else ""
            shown.append(Shown(f"isg-{line}", tx.pk if tx else None, named, accept_url=url))
    return render_page(request, "web/_suggestions.html", _context(org, shown, "cell"))


@org_page()
def suggestion_accept_view(request: HttpRequest, org: OrgContext, tx_id: int) -> HttpResponse:
    """POST ``category``: take that suggestion; answers the row (or the preview cell)."""
    if request.method != "POST":
        return error_page(request, 405, "Use the button.")
    category = request.POST.get("category", "")
    tx = selectors.transaction_for_suggestion(organization=org.organization, tx_id=tx_id)
    if tx is None or not category.isdigit():
        return error_page(request, 404 if tx is None else 400, "There is no such suggestion.")
    text = selectors.text_of(tx) if selectors.needs_category(tx) else None
    found, _ = selectors.suggestions_for(organization=org.organization, texts=[text])
    try:
        suggestion_accept(ctx=org, tx_id=tx_id, category_id=int(category), shown=found[0])
    except KoreError as exc:
        return error_page(request, exc.status_code, exc.message)
    if request.POST.get("target") == "cell":
        applied = selectors.applied_suggestions_of(organization=org.organization, tx_ids=[tx_id])
        shown = Shown("", None, [], applied.get(tx_id))
        return render_page(request, "web/_suggestion_cell.html", {"s": shown})
    return _row_response(request, org, tx_id)
