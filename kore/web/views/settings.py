"""Organisation settings: name, lock date, members, invitations, API tokens (admins and owners).

Every change is a POST (with CSRF).
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from kore.core.exceptions import KoreError
from kore.ledger.services.periods import lock_date_set
from kore.orgs import selectors as org_selectors
from kore.orgs import services as org_services
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext

from .. import forms
from ..access import error_page, org_page, render_page, request_ip


def _settings_page(request: HttpRequest, org: OrgContext, **extra: object) -> HttpResponse:
    o = org.organization
    context = {
        "nav": "settings",
        "org_form": extra.pop("org_form", None) or forms.OrganizationForm(instance=o),
        "lock_form": extra.pop("lock_form", None)
        or forms.LockDateForm(initial={"lock_date": o.lock_date}),
        "invite_form": extra.pop("invite_form", None) or forms.InviteForm(),
        "token_form": extra.pop("token_form", None) or forms.TokenForm(),
        "members": org_selectors.membership_list(organization=o),
        "invitations": org_selectors.invitation_list(organization=o).filter(
            accepted_at__isnull=True
        ),
        "tokens": org_selectors.api_token_list(organization=o).select_related("created_by"),
        "roles": Role.choices,
        **extra,
    }
    return render_page(
        request, "web/settings.html", context, status=int(str(extra.get("status", 200)))
    )


@org_page(read=Role.ADMIN, write=Role.ADMIN)
def settings_page(request: HttpRequest, org: OrgContext) -> HttpResponse:
    if request.method != "POST":
        return _settings_page(request, org)
    form = forms.OrganizationForm(request.POST, instance=org.organization)
    if form.is_valid():
        try:
            org_services.organization_update(organization=org.organization, **form.changes())
        except KoreError as exc:
            forms.apply_error(form, exc)
        else:
            messages.success(request, "Organisation settings saved.")
            return redirect("web:settings", org.organization.slug)
    return _settings_page(request, org, org_form=form, status=422)


@org_page(read=Role.ADMIN, write=Role.ADMIN)
@require_POST
def lock_date(request: HttpRequest, org: OrgContext) -> HttpResponse:
    """Move the organisation's lock date (a signed-in admin; kept in the security log)."""
    form = forms.LockDateForm(request.POST)
    if form.is_valid():
        moved = form.cleaned_data["lock_date"]
        try:
            lock_date_set(ctx=org, lock_date=moved, ip=request_ip(request))
        except KoreError as exc:
            forms.apply_error(form, exc)
        else:
            messages.success(
                request,
                f"Books closed through {moved:%Y-%m-%d}." if moved else "The books are open.",
            )
            return redirect("web:settings", org.organization.slug)
    return _settings_page(request, org, lock_form=form, status=422)


@org_page(read=Role.ADMIN, write=Role.ADMIN)
@require_POST
def invite(request: HttpRequest, org: OrgContext) -> HttpResponse:
    form = forms.InviteForm(request.POST)
    if form.is_valid():
        try:
            org_services.invitation_create(
                organization=org.organization,
                invited_by=org.user,
                inviter_role=org.role,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                ip=request_ip(request),
            )
        except KoreError as exc:
            forms.apply_error(form, exc)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("web:settings", org.organization.slug)
    return _settings_page(request, org, invite_form=form, status=422)


@org_page(read=Role.ADMIN, write=Role.ADMIN)
@require_POST
def member_change(request: HttpRequest, org: OrgContext, membership_id: int) -> HttpResponse:
    membership = org_selectors.membership_get_in_org(
        organization=org.organization, membership_id=membership_id
    )
    if membership is None:
        return error_page(request, 404, "There is no such member.")
    try:
        if request.POST.get("remove"):
            org_services.membership_remove(
                actor=org.user, actor_role=org.role, membership=membership, ip=request_ip(request)
            )
            messages.success(request, f"{membership.user.email} was removed.")
        else:
            role = request.POST.get("role", "")
            if role not in Role.values:
                return _settings_page(request, org, error="Choose a role.", status=422)
            org_services.membership_change_role(
                actor=org.user,
                actor_role=org.role,
                membership=membership,
                role=role,
                ip=request_ip(request),
            )
            messages.success(request, f"{membership.user.email} is now {role}.")
    except KoreError as exc:
        return _settings_page(request, org, error=exc.message, status=exc.status_code)
    return redirect("web:settings", org.organization.slug)


@org_page(read=Role.ADMIN, write=Role.ADMIN)
@require_POST
def token_create(request: HttpRequest, org: OrgContext) -> HttpResponse:
    form = forms.TokenForm(request.POST)
    if form.is_valid():
        try:
            _token, raw = org_services.api_token_create(
                organization=org.organization,
                creator=org.user,
                creator_role=org.role,
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                ip=request_ip(request),
            )
        except KoreError as exc:
            forms.apply_error(form, exc)
        else:
            return _settings_page(request, org, new_token=raw)
    return _settings_page(request, org, token_form=form, status=422)


@org_page(read=Role.ADMIN, write=Role.ADMIN)
@require_POST
def token_revoke(request: HttpRequest, org: OrgContext, token_id: int) -> HttpResponse:
    token = org_selectors.api_token_list(organization=org.organization).filter(pk=token_id).first()
    if token is None:
        return error_page(request, 404, "There is no such token.")
    org_services.api_token_revoke(token=token, actor=org.user, ip=request_ip(request))
    messages.success(request, f"Token {token.name!r} revoked.")
    return redirect("web:settings", org.organization.slug)
