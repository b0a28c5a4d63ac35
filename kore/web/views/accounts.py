"""Accounts: balances, rename, archive."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from kore.core.exceptions import KoreError
from kore.ledger import selectors
from kore.ledger.services import accounts as account_services
from kore.orgs.scoping import OrgContext
from kore.reports.selectors import balances

from .. import forms
from ..access import error_page, org_page, render_page


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
