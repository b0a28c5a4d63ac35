"""Accounts, the category tree and the reconciliation wizard."""

from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from kore.core.exceptions import KoreError
from kore.core.fields import id_parse
from kore.ledger import selectors
from kore.ledger.models import Transaction
from kore.ledger.selectors.transfers import transfer_get
from kore.ledger.services import accounts as account_services
from kore.ledger.services import categories as category_services
from kore.ledger.services import statements as statement_services
from kore.ledger.services import transactions as tx_services
from kore.ledger.services import transfers as transfer_services
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext
from kore.reports.selectors import balances

from .. import forms
from ..access import HtmxHttpRequest, error_page, org_page, render_page
from ..overview import category_month_totals, month_start


# --- Accounts ------------------------------------------------------------------------------
@org_page()
def accounts(request: HttpRequest, org: OrgContext) -> HttpResponse:
    """Balances today, and a form to open an account (members and up)."""
    initial = {"currency": org.organization.default_currency, "kind": "bank"}
    form = forms.AccountForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                account_services.account_create(ctx=org, **form.cleaned_data)
            except KoreError as exc:
                forms.apply_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, f"Account {form.cleaned_data['name']!r} opened.")
                return redirect("web:accounts", org.organization.slug)
    report = balances(organization=org.organization, as_of=timezone.localdate())
    context = {
        "nav": "accounts",
        "form": form,
        "report": report,
        "versions": {a.pk: a for a in selectors.account_list(organization=org.organization)},
    }
    return render_page(request, "web/accounts.html", context, status=status)


@org_page()
@require_POST
def account_edit(request: HttpRequest, org: OrgContext, account_id: int) -> HttpResponse:
    """Rename, or archive/unarchive, with the version the page showed."""
    account = selectors.account_get(organization=org.organization, account_id=account_id)
    if account is None:
        return error_page(request, 404, "There is no such account.")
    changes: dict[str, Any] = {}
    if "archived" in request.POST:
        changes["archived"] = request.POST["archived"] == "1"
    name = request.POST.get("name", "").strip()
    if name:
        changes["name"] = name[:120]
    try:
        account_services.account_update(
            ctx=org, account=account, if_match=request.POST.get("etag") or None, **changes
        )
    except KoreError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Account {account.name!r} saved.")
    return redirect("web:accounts", org.organization.slug)


# --- Categories ----------------------------------------------------------------------------
@org_page()
def categories(request: HttpRequest, org: OrgContext) -> HttpResponse:
    cats = list(selectors.category_list(organization=org.organization))
    form = forms.CategoryForm(request.POST or None, categories=cats)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                category_services.category_create(ctx=org, **form.cleaned_data)
            except KoreError as exc:
                forms.apply_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, f"Category {form.cleaned_data['name']!r} added.")
                return redirect("web:categories", org.organization.slug)
    tree = forms.category_choices(cats, "")[1:]
    by_id = {c.pk: c for c in cats}
    rows = [(by_id[pk], label) for pk, label in tree]
    currency = org.organization.default_currency
    today = timezone.localdate()
    context = {
        "nav": "categories",
        "form": form,
        "rows": rows,
        "currency": currency,
        "totals": category_month_totals(org.organization, cats, today, currency),
        "month_from": month_start(today),
        "choices": forms.category_choices(cats, "(top level)"),
        "targets": forms.category_choices(cats, "(choose)"),
    }
    return render_page(request, "web/categories.html", context, status=status)


@org_page()
@require_POST
def category_edit(request: HttpRequest, org: OrgContext, category_id: int) -> HttpResponse:
    """Rename, move under another parent, or delete (reassigning what used it)."""
    category = selectors.category_get(organization=org.organization, category_id=category_id)
    if category is None:
        return error_page(request, 404, "There is no such category.")
    etag = request.POST.get("etag") or None
    try:
        if request.POST.get("delete"):
            category_services.category_delete(
                ctx=org,
                category=category,
                if_match=etag,
                reassign_to=id_parse(request.POST.get("reassign_to", "")),
            )
            messages.success(request, f"Category {category.name!r} deleted.")
        else:
            changes: dict[str, Any] = {"parent": id_parse(request.POST.get("parent", ""))}
            if request.POST.get("name", "").strip():
                changes["name"] = request.POST["name"].strip()[:80]
            category_services.category_update(ctx=org, category=category, if_match=etag, **changes)
            messages.success(request, "Category saved.")
    except KoreError as exc:
        messages.error(request, exc.message)
    return redirect("web:categories", org.organization.slug)


# --- Transfers -----------------------------------------------------------------------------
@org_page()
def transfer_new(request: HttpRequest, org: OrgContext) -> HttpResponse:
    """Move money between two accounts: both legs written at once by the ledger."""
    accounts = [a for a in selectors.account_list(organization=org.organization) if not a.archived]
    initial = {
        "occurred_on": timezone.localdate(),
        "from_account": accounts[0].pk if accounts else None,
        "to_account": accounts[1].pk if len(accounts) > 1 else None,
    }
    form = forms.TransferForm(request.POST or None, initial=initial, accounts=accounts)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            values = {k: v for k, v in form.cleaned_data.items() if v is not None}
            try:
                transfer = transfer_services.transfer_create(ctx=org, **values)
            except KoreError as exc:
                forms.apply_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, "Transfer recorded: both accounts show it.")
                leg = transfer.legs.order_by("amount", "id").values_list("pk", flat=True).first()
                return redirect("web:transaction", org.organization.slug, leg)
    context = {"nav": "transactions", "form": form, "enough_accounts": len(accounts) > 1}
    return render_page(request, "web/transfer_form.html", context, status=status)


@org_page()
def transfer_edit(request: HttpRequest, org: OrgContext, transfer_id: int) -> HttpResponse:
    """Correct a transfer's amounts, date and description on both legs at once, or delete it."""
    found = transfer_get(organization=org.organization, transfer_id=transfer_id)
    if found is None:
        return error_page(request, 404, "There is no such transfer.")
    accounts = {a.pk: a for a in selectors.account_list(organization=org.organization)}
    source, target = accounts[found["from_account"]], accounts[found["to_account"]]
    initial = {k: found[k] for k in ("amount", "to_amount", "occurred_on", "description", "etag")}
    form = forms.TransferEditForm(request.POST or None, initial=initial)
    if source.currency == target.currency:
        del form.fields["to_amount"]  # within one currency both legs move by the amount
    status = 200
    if request.method == "POST":
        status = 400
        etag = request.POST.get("etag") or None
        if request.POST.get("delete"):
            try:
                transfer_services.transfer_delete(ctx=org, transfer_id=transfer_id, if_match=etag)
            except KoreError as exc:
                messages.error(request, exc.message)
                return redirect("web:transfer", org.organization.slug, transfer_id)
            messages.success(request, "Transfer deleted from both accounts.")
            return redirect("web:transactions", org.organization.slug)
        if form.is_valid():
            data = form.cleaned_data
            changes = {k: data[k] for k in ("amount", "occurred_on", "description")}
            if data.get("to_amount") is not None:
                changes["to_amount"] = data["to_amount"]
            try:
                transfer_services.transfer_update(
                    ctx=org, transfer_id=transfer_id, if_match=etag, **changes
                )
            except KoreError as exc:
                forms.apply_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, "Transfer corrected on both accounts.")
                return redirect("web:transfer", org.organization.slug, transfer_id)
    context = {
        "nav": "transactions",
        "form": form,
        "transfer": found,
        "source": source,
        "target": target,
        "locked": any(leg["status"] == "reconciled" for leg in found["legs"]),
    }
    return render_page(request, "web/transfer_edit.html", context, status=status)


# --- Reconciliation ------------------------------------------------------------------------
TICK_ROWS = 200  # rows of the period listed to tick; more is a sign to narrow the date


def _reconcile_figures(
    org: OrgContext, account_id: int, end: date
) -> tuple[Decimal, str, list[Transaction]] | None:
    """What reconciling would compare (the statements service's rule), the currency and the
    period's rows to tick (one more than shown, to tell there are more)."""
    account = selectors.account_get(organization=org.organization, account_id=account_id)
    if account is None:
        return None
    balance = statement_services.statement_cleared_balance(account=account, end_date=end)
    rows = statement_services.statement_rows_to_tick(
        organization=org.organization, account=account, end_date=end, limit=TICK_ROWS + 1
    )
    return balance, account.currency, rows


def _reconcile_context(org: OrgContext, form: forms.ReconcileForm) -> dict[str, Any]:
    """The difference and the period's rows for a valid form; empty otherwise."""
    context: dict[str, Any] = {"computed": None, "difference": None, "currency": "", "rows": []}
    if not (form.is_bound and form.is_valid()):
        return context
    data = form.cleaned_data
    found = _reconcile_figures(org, data["account"], data["end_date"])
    if found is None:
        return context
    computed, currency, rows = found
    context.update(
        computed=computed,
        currency=currency,
        difference=data["closing_balance"] - computed,
        rows=rows[:TICK_ROWS],
        more_rows=len(rows) > TICK_ROWS,
    )
    return context


@org_page()
def reconcile(request: HtmxHttpRequest, org: OrgContext) -> HttpResponse:
    """Statement date and closing balance → the difference and the period's rows to tick, live
    → confirm at zero."""
    accounts = list(selectors.account_list(organization=org.organization))
    initial = {"end_date": timezone.localdate(), "account": next((a.pk for a in accounts), None)}
    form = forms.ReconcileForm(
        request.POST or request.GET or None, initial=initial, accounts=accounts
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            return _reconcile_confirm(request, org, form)
        status = 400
    context = {
        "nav": "reconcile",
        "form": form,
        "has_accounts": bool(accounts),
        "statements": selectors.statement_list(organization=org.organization).select_related(
            "account"
        )[:20],
        **_reconcile_context(org, form),
    }
    template = "web/_reconcile_result.html" if request.htmx else "web/reconcile.html"
    return render_page(request, template, context, status=status)


@org_page(write=Role.MEMBER)
@require_POST
def reconcile_tick(request: HtmxHttpRequest, org: OrgContext) -> HttpResponse:
    """Tick (clear) or untick (back to pending) one row of the period; answers with the new
    difference and rows."""
    accounts = list(selectors.account_list(organization=org.organization))
    form = forms.ReconcileForm(request.POST, accounts=accounts)
    tx_id = id_parse(request.POST.get("tx", ""))
    wanted = request.POST.get("to", "")
    error = ""
    if tx_id is None or wanted not in (Transaction.Status.PENDING, Transaction.Status.CLEARED):
        return error_page(request, 400, "Say which transaction and whether it is cleared.")
    try:
        tx_services.transaction_update(ctx=org, tx_id=tx_id, status=wanted)
    except KoreError as exc:
        error = exc.message
    if not request.htmx:
        if error:
            messages.error(request, error)
        query = {k: request.POST.get(k, "") for k in ("account", "end_date", "closing_balance")}
        return redirect(reverse("web:reconcile", args=[org.organization.slug]) + "?" +
                        urlencode(query))  # fmt: skip
    context = {"form": form, "tick_error": error, **_reconcile_context(org, form)}
    return render_page(request, "web/_reconcile_result.html", context)


def _reconcile_confirm(
    request: HttpRequest, org: OrgContext, form: forms.ReconcileForm
) -> HttpResponse:
    if not org.at_least(Role.MEMBER):
        return error_page(request, 403, "This needs the member role or higher.")
    data = form.cleaned_data
    try:
        statement = statement_services.statement_create(
            ctx=org,
            account=data["account"],
            end_date=data["end_date"],
            closing_balance=data["closing_balance"],
        )
        statement_services.statement_reconcile(ctx=org, statement_id=statement.pk)
    except KoreError as exc:
        messages.error(
            request,
            exc.message + " The statement is saved as open; fix the "
            "transactions (mark them cleared) and reconcile again.",
        )
    else:
        messages.success(request, "Reconciled: the statement's transactions are now locked.")
    return redirect("web:reconcile", org.organization.slug)


@org_page(write=Role.MEMBER)
@require_POST
def statement_reconcile(request: HttpRequest, org: OrgContext, statement_id: int) -> HttpResponse:
    """Try an open statement again."""
    try:
        statement_services.statement_reconcile(ctx=org, statement_id=statement_id)
    except KoreError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Reconciled.")
    return redirect("web:reconcile", org.organization.slug)
