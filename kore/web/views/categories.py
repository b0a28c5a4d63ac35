"""The category tree: amounts by category, rename, move, delete."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from kore.core.exceptions import KoreError
from kore.core.fields import id_parse
from kore.ledger import selectors
from kore.ledger.services import categories as category_services
from kore.orgs.scoping import OrgContext

from .. import forms
from ..access import error_page, org_page, render_page
from ..overview import category_month_totals, month_start


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
