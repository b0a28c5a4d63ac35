"""Imports: upload a bank file (dry run first), its live progress, cancel, promote."""

import json

from django import forms as djforms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from kore.core.exceptions import KoreError
from kore.imports import services as import_services
from kore.imports.apis import ImportJobSummary, MappingInput
from kore.imports.models import ImportJob
from kore.imports.readers.csv_reader import LOCALES, ROLES
from kore.imports.selectors import import_job_get, import_job_page
from kore.ledger import selectors
from kore.orgs.scoping import OrgContext

from .. import forms as web_forms
from ..access import HtmxHttpRequest, error_page, org_page, render_page

MAPPING_ROLES = ROLES  # every column role a mapping names


class ImportForm(djforms.Form):
    account = djforms.TypedChoiceField(coerce=int)
    file = djforms.FileField()
    dry_run = djforms.BooleanField(
        required=False, initial=True, label="Dry run (check every row, write nothing)"
    )
    mode = djforms.ChoiceField(
        choices=ImportJob.Mode.choices, initial=ImportJob.Mode.ALL_OR_NOTHING
    )
    locale = djforms.ChoiceField(
        choices=[("", "Detect"), *((code, code) for code in sorted(LOCALES))],
        required=False,
        label="Locale (date order, decimal mark) when Kore cannot tell",
    )


@org_page()
def imports(request: HttpRequest, org: OrgContext) -> HttpResponse:
    accounts = list(selectors.account_list(organization=org.organization))
    form = ImportForm(request.POST or None, request.FILES or None)
    web_forms.set_choices(form, "account", web_forms.account_choices(accounts, None))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            mapping = {
                r: request.POST[f"map_{r}"] for r in MAPPING_ROLES if request.POST.get(f"map_{r}")
            }
            if form.cleaned_data.get("locale"):
                mapping["locale"] = form.cleaned_data["locale"]
            checked = MappingInput(data=mapping)
            if mapping and not checked.is_valid():
                form.add_error(
                    None, "The column mapping is not valid: " + json.dumps(checked.errors)
                )
            else:
                try:
                    job = import_services.import_job_create(
                        ctx=org,
                        file=form.cleaned_data["file"],
                        account=form.cleaned_data["account"],
                        mapping=dict(checked.validated_data) if mapping else None,
                        mode=form.cleaned_data["mode"],
                        dry_run=form.cleaned_data["dry_run"],
                    )
                except KoreError as exc:
                    web_forms.apply_error(form, exc)
                    status = exc.status_code
                else:
                    return redirect("web:import", org.organization.slug, job.pk)
    jobs, _ = import_job_page(organization=org.organization, cursor=None, limit=20)
    context = {
        "nav": "imports",
        "form": form,
        "jobs": jobs,
        "roles": MAPPING_ROLES,
        "has_accounts": bool(accounts),
    }
    return render_page(request, "web/imports.html", context, status=status)


@org_page()
def import_detail(request: HtmxHttpRequest, org: OrgContext, job_id: int) -> HttpResponse:
    job = import_job_get(organization=org.organization, job_id=job_id)
    if job is None:
        return error_page(request, 404, "There is no such import.")
    summary = ImportJobSummary(job).data
    context = {
        "nav": "imports",
        "job": job,
        "summary": summary,
        "active": job.status in ImportJob.ACTIVE,
    }
    template = "web/_import_status.html" if request.htmx else "web/import_detail.html"
    return render_page(request, template, context)


@org_page()
def import_cancel(request: HttpRequest, org: OrgContext, job_id: int) -> HttpResponse:
    if request.method != "POST":
        return error_page(request, 405, "Use the button.")
    try:
        import_services.import_job_cancel(ctx=org, job_id=job_id)
    except KoreError as exc:
        messages.error(request, exc.message)
    return redirect("web:import", org.organization.slug, job_id)


@org_page()
def import_promote(request: HttpRequest, org: OrgContext, job_id: int) -> HttpResponse:
    """A passed dry run, imported for real from the file it checked (no new upload)."""
    if request.method != "POST":
        return error_page(request, 405, "Use the button.")
    try:
        job = import_services.import_job_promote(ctx=org, job_id=job_id)
    except KoreError as exc:
        messages.error(request, exc.message)
        return redirect("web:import", org.organization.slug, job_id)
    return redirect("web:import", org.organization.slug, job.pk)
