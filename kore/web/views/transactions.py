"""The transactions page: keyset pages, filters, inline edit, bulk edits, detail, attachments."""

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from kore.core.exceptions import KoreError, NotFound, PreconditionFailed
from kore.ledger import selectors
from kore.ledger import transaction_list as tl
from kore.ledger.models import Account, Attachment, Category
from kore.ledger.selectors.audit import AuditFilter, audit_page
from kore.ledger.services import attachments as attachment_services
from kore.ledger.services import transactions as tx_services
from kore.ledger.services.bulk import (
    bulk_targets,
    transactions_bulk_delete,
    transactions_bulk_update,
)
from kore.ledger.services.concurrency import etag
from kore.ledger.services.transfers import SKIP_REASONS
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext
from kore.payees.selectors import rule_offer
from kore.suggestions.selectors import applied_suggestions_shown

from .. import forms
from ..access import HtmxHttpRequest, error_page, org_page, render_page
from ..history import history_entries
from ..rows import rows_html
from ..selectors import page_refs
from ..templatetags.web import amount_input, options, row_formatters, sign

PAGE_SIZE = 50
UNDO_SALT = "kore.web.undo"
OFFER_SALT = "kore.web.rule-offer"


def _offer(request: HttpRequest) -> dict[str, Any] | None:
    """The rule offered after a re-categorise (signed by the bulk view), shown once."""
    try:
        offer: dict[str, Any] = signing.loads(
            request.GET.get("offer", ""), salt=OFFER_SALT, max_age=3600
        )
    except signing.BadSignature:
        return None
    return offer


def _refs(org: OrgContext) -> tuple[list[Account], list[Category]]:
    o = org.organization
    return list(selectors.account_list(organization=o)), list(
        selectors.category_list(organization=o)
    )


def _decorate(
    rows: list[dict[str, Any]], accounts: list[Account], categories: list[Category], slug: str
) -> None:
    """Names, display strings, links and the ETag of each row, computed once: no query per row
    and little template work (the page renders 50 of them)."""
    account_names = {a.pk: a.name for a in accounts}
    category_names = {c.pk: c.name for c in categories}
    base = reverse("web:transactions", args=[slug])
    amount_text, date_text = row_formatters()
    for row in rows:
        row["account_name"] = account_names.get(row["account_id"], "")
        row["category_name"] = category_names.get(row["category_id"] or 0, "")
        row["etag"] = etag(row["id"], row["version"])
        row["amount_text"] = amount_text(row["amount"], row["currency"])
        row["sign"] = sign(row["amount"])
        row["date_text"] = date_text(row["occurred_on"])
        row["url"] = f"{base}{row['id']}/"
        row["inline_url"] = f"{base}{row['id']}/inline/"
        row["label"] = row["description"] or row["counterparty"] or "(no description)"
        for split in row["splits"]:
            split["category_name"] = category_names.get(split["category_id"] or 0, "")


def _query_without(request: HttpRequest, *names: str) -> str:
    pairs = [(k, v) for k, v in request.GET.items() if k not in names and v != ""]
    return urlencode(pairs)


@org_page()
def transaction_list(request: HtmxHttpRequest, org: OrgContext) -> HttpResponse:
    """Fifty rows at a time; "more" fetches the next keyset page (htmx appends it)."""
    accounts, categories, orgs = page_refs(organization=org.organization, user=org.user)
    rows: list[dict[str, Any]] = []
    next_cursor, status, error = None, 200, ""
    filter_errors: dict[str, list[str]] = {}
    try:
        # The API's parser: the same filters, names and errors. ``limit`` is the page's own.
        query = tl.parse_query(request.GET, also=("undo", "cursor", "offer"), paged=False)
        rows, next_cursor = tl.page(
            organization=org.organization,
            filters=query.filters,
            ordering=query.ordering,
            cursor=request.GET.get("cursor") or None,
            limit=PAGE_SIZE,
        )
    except KoreError as exc:
        status, error = exc.status_code, exc.message
        filter_errors = {k: [e["message"] for e in v] for k, v in exc.fields.items()}
        if filter_errors:
            error = ""
    _decorate(rows, accounts, categories, org.organization.slug)
    base_query = _query_without(request, "cursor", "undo", "offer")
    context = {
        "nav": "transactions",
        "filter_errors": filter_errors,
        "rows": rows,
        "error": error,
        "next_url": f"?{base_query}&cursor={next_cursor}" if next_cursor else "",
        "query": base_query,
        "category_options": options(forms.category_choices(categories, "Uncategorised"), None),
        "has_accounts": bool(accounts),
        "filtered": bool(base_query),
        "undo": request.GET.get("undo", ""),
        "offer": _offer(request),
        "orgs": orgs,
        "fv": {name: request.GET.get(name, "") for name in (*tl.FILTER_PARAMS, "ordering")},
        "account_options": options(
            [("", "All accounts"), *((a.pk, a.name) for a in accounts)], request.GET.get("account")
        ),
        "filter_category_options": options(
            forms.category_choices(categories, "All categories"), request.GET.get("category")
        ),
        "status_options": options(forms.STATUS_ALL, request.GET.get("status", "")),
        "ordering_options": options(forms.ORDERINGS, request.GET.get("ordering", "-occurred_on")),
    }
    context["rows_html"] = rows_html(rows, can_write=org.at_least(Role.MEMBER))
    context["suggest_url"] = _suggest_url(org, rows)
    if request.htmx and request.GET.get("cursor"):
        return render_page(request, "web/_tx_rows.html", context, status=status)
    return render_page(request, "web/transactions.html", context, status=status)


def _suggest_url(org: OrgContext, rows: list[dict[str, Any]]) -> str:
    """The fragment with the category suggestions of the uncategorised rows shown (its own
    request, so the rows render as fast without it)."""
    ids = [r["id"] for r in rows if not r["category_id"] and not r["splits"]]
    if not ids:
        return ""
    url = reverse("web:transaction-suggestions", args=[org.organization.slug])
    return url + "?" + "&".join(f"transaction={i}" for i in ids)


def _row_response(
    request: HttpRequest,
    org: OrgContext,
    tx_id: int,
    *,
    edit: bool = False,
    form: forms.InlineEditForm | None = None,
    message: str = "",
    status: int = 200,
) -> HttpResponse:
    row = tl.get(organization=org.organization, tx_id=tx_id)
    if row is None:
        return error_page(request, 404, "There is no such transaction.")
    accounts, categories = _refs(org)
    _decorate([row], accounts, categories, org.organization.slug)
    context = {
        "row": row,
        "row_html": rows_html([row], can_write=org.at_least(Role.MEMBER)),
        "edit": edit,
        "form": form,
        "message": message,
        "category_options": options(
            forms.category_choices(categories, "Uncategorised"), row["category_id"] or ""
        ),
    }
    return render_page(request, "web/_tx_row.html", context, status=status)


@org_page()
def transaction_inline(request: HttpRequest, org: OrgContext, tx_id: int) -> HttpResponse:
    """GET: the row as a form. POST: save category, status and tags with the row's ETag."""
    if request.method != "POST":
        return _row_response(request, org, tx_id, edit=request.GET.get("cancel") is None)
    _accounts, categories = _refs(org)
    form = forms.InlineEditForm(request.POST, categories=categories)
    if not form.is_valid():
        return _row_response(request, org, tx_id, edit=True, form=form, status=400)
    data = form.cleaned_data
    try:
        tx_services.transaction_update(
            ctx=org,
            tx_id=tx_id,
            if_match=data["etag"],
            category=data["category"],
            status=data["status"],
            tags=data["tags"],
        )
    except PreconditionFailed:
        message = (
            "Someone changed this transaction after you opened it; your edit was not saved. "
            "Its current values are shown: check them and save again."
        )
        return _row_response(request, org, tx_id, edit=True, message=message, status=412)
    except KoreError as exc:
        if exc.status_code == 404:
            return error_page(request, 404, "There is no such transaction.")
        return _row_response(
            request, org, tx_id, edit=True, message=exc.message, status=exc.status_code
        )
    return _row_response(request, org, tx_id)


def _back(request: HttpRequest, org: OrgContext, **extra: str) -> HttpResponse:
    """Back to the list with the filters the form came from (only a query string is kept)."""
    target = reverse("web:transactions", args=[org.organization.slug])
    query = request.POST.get("next", "")
    if query.startswith("?") and "\\" not in query and "//" not in query:
        target += query
    if extra:
        target += ("&" if "?" in target else "?") + urlencode(extra)
    return HttpResponseRedirect(target)


@org_page()
@require_POST
def transaction_bulk(request: HttpRequest, org: OrgContext) -> HttpResponse:
    """Re-categorise, tag, set status or delete the ticked rows (all or nothing)."""
    _accounts, categories = _refs(org)
    form = forms.BulkForm(request.POST, categories=categories)
    if not form.is_valid():
        messages.error(request, "Tick some transactions and choose what to do with them.")
        return _back(request, org)
    data = form.cleaned_data
    ids: list[int] = data["ids"]
    try:
        if data["action"] == "delete":
            count = transactions_bulk_delete(ctx=org, ids=ids)
            token = signing.dumps(ids, salt=UNDO_SALT)
            messages.success(request, f"{count} transactions deleted.")
            return _back(request, org, undo=token)
        changes: dict[str, Any] = {}
        add_tags: list[str] = []
        if data["action"] == "categorise":
            changes["category"] = data["category"]
        elif data["action"] == "status":
            changes["status"] = data["status"] or "cleared"
        elif data["tag"].strip():
            add_tags = [data["tag"].strip()]
        count = transactions_bulk_update(ctx=org, ids=ids, changes=changes, add_tags=add_tags)
        messages.success(request, f"{count} transactions updated.")
        offer = None
        if changes.get("category") is not None:
            offer = rule_offer(organization=org.organization, category_id=changes["category"],
                               transactions=bulk_targets(org, ids=ids))  # fmt: skip
        if offer is not None:
            return _back(request, org, offer=signing.dumps(offer, salt=OFFER_SALT))
    except KoreError as exc:
        messages.error(request, exc.message)
    return _back(request, org)


@org_page()
@require_POST
def transaction_restore(request: HttpRequest, org: OrgContext) -> HttpResponse:
    """Undo a deletion: the signed list of ids the delete handed back."""
    try:
        ids = signing.loads(request.POST.get("undo", ""), salt=UNDO_SALT, max_age=30 * 86400)
    except signing.BadSignature:
        return error_page(request, 400, "That undo link is not valid.")
    restored, refused = 0, ""
    for tx_id in ids:
        try:
            tx_services.transaction_restore(ctx=org, tx_id=int(tx_id))
            restored += 1
        except NotFound:
            continue  # already restored, or its transfer partner brought it back
        except KoreError as exc:  # e.g. its date is now in a closed period
            refused = exc.message
    messages.success(request, f"{restored} transactions restored.")
    if refused:
        messages.error(request, refused)
    return _back(request, org)


def _form_initial(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "account": row["account_id"],
        "occurred_on": row["occurred_on"],
        "amount": amount_input(row["amount"], row["currency"]),
        "description": row["description"],
        "counterparty": row["counterparty"],
        "category": row["category_id"],
        "status": row["status"],
        "tags": ", ".join(row["tags"]),
        "reference": row["reference"],
        "notes": row["notes"],
        "etag": row["etag"],
    }


def _save(
    request: HttpRequest, org: OrgContext, form: forms.TransactionForm, tx_id: int | None
) -> tuple[int | None, int]:
    """Create or update a valid form through the services: (the transaction's id, 200) when saved,
    otherwise (None, the status) with the reason on the form (412: changed since it was opened).
    A new row a transfer rule could not make a transfer leg is saved, and the reason said."""
    values = form.values()
    splits = form.splits()
    if splits is not None:
        values["splits"] = splits
    try:
        if tx_id is None:
            created = tx_services.transaction_create_reported(ctx=org, **values)
            for code in created.transfers_skipped.values():
                messages.warning(request, f"Not made a transfer: {SKIP_REASONS[code]}")
            return created.transactions[0].pk, 200
        if values.get("status") == "reconciled":
            values.pop("status")
        tx_services.transaction_update(
            ctx=org, tx_id=tx_id, if_match=form.cleaned_data["etag"] or None, **values
        )
    except PreconditionFailed:
        form.add_error(
            None,
            "Someone changed this transaction after you opened it; "
            "nothing was saved. Reload to see their change.",
        )
        return None, 412
    except KoreError as exc:
        forms.apply_error(form, exc)
        return None, exc.status_code
    except ValidationError as exc:
        form.add_error(None, exc)
        return None, 400
    return tx_id, 200


@org_page()
def transaction_new(request: HttpRequest, org: OrgContext) -> HttpResponse:
    accounts, categories = _refs(org)
    initial = {"occurred_on": _today(), "account": next((a.pk for a in accounts), None)}
    form = forms.TransactionForm(
        request.POST or None, initial=initial, accounts=accounts, categories=categories
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            tx_id, status = _save(request, org, form, None)
            if tx_id is not None:
                messages.success(request, "Transaction added.")
                if request.POST.get("another"):
                    return redirect("web:transaction-new", org.organization.slug)
                return redirect("web:transaction", org.organization.slug, tx_id)
    context = {"nav": "transactions", "form": form, "has_accounts": bool(accounts)}
    return render_page(request, "web/transaction_form.html", context, status=status)


def _today() -> Any:
    from django.utils import timezone

    return timezone.localdate()


@org_page()
def transaction_detail(request: HttpRequest, org: OrgContext, tx_id: int) -> HttpResponse:
    """Edit every field (splits too), see attachments and the audit history."""
    row = tl.get(organization=org.organization, tx_id=tx_id)
    if row is None:
        return error_page(request, 404, "There is no such transaction.")
    accounts, categories = _refs(org)
    _decorate([row], accounts, categories, org.organization.slug)
    form = forms.TransactionForm(
        request.POST or None, initial=_form_initial(row), accounts=accounts, categories=categories
    )
    status, conflict = 200, False
    if request.method == "POST":
        status = 400
        if form.is_valid():
            saved, status = _save(request, org, form, tx_id)
            if saved is not None:
                messages.success(request, "Transaction saved.")
                return redirect("web:transaction", org.organization.slug, tx_id)
            conflict = status == 412
    history, _ = audit_page(
        organization=org.organization,
        filters=AuditFilter(object_type="transaction", object_id=tx_id),
        limit=20,
    )
    context = {
        "nav": "transactions",
        "form": form,
        "row": row,
        "conflict": conflict,
        "history": history_entries(
            history, accounts=accounts, categories=categories, currency=row["currency"]
        ),
        "split_categories": form.category_options,
        "attachments": Attachment.objects.filter(
            organization=org.organization, transaction_id=tx_id
        ).order_by("-created_at"),
        "locked": row["status"] == "reconciled",
        "applied": applied_suggestions_shown(organization=org.organization, tx_id=tx_id),
    }
    return render_page(request, "web/transaction_detail.html", context, status=status)


@org_page()
@require_POST
def transaction_delete(request: HttpRequest, org: OrgContext, tx_id: int) -> HttpResponse:
    try:
        tx_services.transaction_delete(
            ctx=org, tx_id=tx_id, if_match=request.POST.get("etag") or None
        )
    except KoreError as exc:
        messages.error(request, exc.message)
        return redirect("web:transaction", org.organization.slug, tx_id)
    messages.success(request, "Transaction deleted.")
    token = signing.dumps([tx_id], salt=UNDO_SALT)
    return redirect(reverse("web:transactions", args=[org.organization.slug]) + f"?undo={token}")


@org_page()
@require_POST
def attachment_upload(request: HttpRequest, org: OrgContext, tx_id: int) -> HttpResponse:
    """One file (drag and drop or the picker) linked to the transaction; answers a fragment."""
    upload = request.FILES.get("file")
    if upload is None:
        return render_page(
            request, "web/_upload_result.html", {"error": "Choose a file."}, status=400
        )
    try:
        attachment = attachment_services.attachment_create(ctx=org, file=upload, transaction=tx_id)
    except KoreError as exc:
        return render_page(
            request, "web/_upload_result.html", {"error": exc.message}, status=exc.status_code
        )
    return render_page(request, "web/_upload_result.html", {"attachment": attachment})
