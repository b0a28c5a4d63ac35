"""The reconciliation wizard: the difference, the rows to tick, confirming at zero."""

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
from kore.ledger.services import statements as statement_services
from kore.ledger.services import transactions as tx_services
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext

from .. import forms
from ..access import HtmxHttpRequest, error_page, org_page, render_page

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
