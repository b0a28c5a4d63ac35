"""Transfers between two accounts: new, edit, delete."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from kore.core.exceptions import KoreError
from kore.ledger import selectors
from kore.ledger.selectors.transfers import transfer_get
from kore.ledger.services import transfers as transfer_services
from kore.orgs.scoping import OrgContext

from .. import forms
from ..access import error_page, org_page, render_page


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
