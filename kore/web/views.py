"""Sign in and out, password reset, invitations, the start page and organisation settings.

Every change is a POST (with CSRF): a GET, which a link or an image can make from another site,
changes nothing.
"""

from collections.abc import Callable
from functools import wraps
from typing import cast

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kore.core.exceptions import KoreError
from kore.core.throttling import credential_attempt_throttle
from kore.ledger.services.periods import lock_date_set
from kore.orgs import selectors as org_selectors
from kore.orgs import services as org_services
from kore.orgs.models import Role, User
from kore.orgs.scoping import OrgContext

from . import forms
from .access import error_page, org_page, render_page, request_ip, throttled_page
from .signin import sign_in_providers
from .views_mfa import start_second_step, totp_of


def no_referrer(
    view: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """For a page whose URL holds a secret (an email link's token): no ``Referer`` leaves it."""

    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        response = view(request)
        response["Referrer-Policy"] = "no-referrer"
        return response

    return wrapper


class SignInView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = forms.SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        return {**super().get_context_data(**kwargs), "providers": sign_in_providers()}

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        """Counted against the API login's limits before the password is checked."""
        wait = credential_attempt_throttle(request, email=request.POST.get("username"))
        if wait is not None:
            return throttled_page(request, wait)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: forms.SignInForm) -> HttpResponse:  # type: ignore[override]
        """With two-factor sign-in on, the password alone does not open the session."""
        user = form.get_user()
        if totp_of(user) is not None:
            return start_second_step(self.request, user, self.get_redirect_url())
        return super().form_valid(form)


class SignOutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Straight to the overview of the person's organisation, or a choice when they have several."""
    orgs = list(org_selectors.organization_list(user=cast(User, request.user)))
    if len(orgs) == 1:
        return redirect("web:overview", orgs[0].slug)
    return render_page(request, "web/home.html", {"choices": orgs})


@login_required
@require_GET
def switch(request: HttpRequest) -> HttpResponse:
    slug = request.GET.get("org", "")
    if org_selectors.membership_get(user=cast(User, request.user), slug=slug) is None:
        return error_page(request, 404, "There is no such organisation.")
    return redirect("web:overview", slug)


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link; the same answer whether or not the address has an account."""
    if request.method == "POST":
        wait = credential_attempt_throttle(request, email=request.POST.get("email"))
        if wait is not None:
            return throttled_page(request, wait)
    form = forms.PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        org_services.password_reset_request(email=form.cleaned_data["email"])
        return render_page(request, "web/password_reset_sent.html")
    return render_page(request, "web/password_reset.html", {"form": form})


@no_referrer
@require_http_methods(["GET", "POST"])
def password_reset_confirm(request: HttpRequest) -> HttpResponse:
    """The link from the email (/password-reset/confirm/?uid=…&token=…)."""
    if request.method == "POST":  # each try tests a token: limited like a password
        wait = credential_attempt_throttle(request, email=None)
        if wait is not None:
            return throttled_page(request, wait)
    uid = request.GET.get("uid", "") or request.POST.get("uid", "")
    token = request.GET.get("token", "") or request.POST.get("token", "")
    form = forms.NewPasswordForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            org_services.password_reset_confirm(
                uid=uid, token=token, password=form.cleaned_data["password"]
            )
        except KoreError as exc:
            forms.apply_error(form, exc)
            status = 422
        else:
            messages.success(request, "Your password is changed. Sign in with it.")
            return redirect("web:login")
    context = {"form": form, "uid": uid, "token": token}
    return render_page(request, "web/password_reset_confirm.html", context, status=status)


@no_referrer
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest) -> HttpResponse:
    """The link from an invitation email (/invitations/accept/?token=…)."""
    token = request.GET.get("token", "") or request.POST.get("token", "")
    form = forms.InvitationAcceptForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        user = request.user if request.user.is_authenticated else None
        try:
            membership = org_services.invitation_accept(
                raw_token=token,
                user=user,
                password=form.cleaned_data["password"],
                full_name=form.cleaned_data["full_name"],
                ip=request_ip(request),
            )
        except KoreError as exc:
            forms.apply_error(form, exc)
            status = 422 if exc.status_code < 500 else exc.status_code
        else:
            if user is None:
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {membership.organization.name}.")
            return redirect("web:transactions", membership.organization.slug)
    context = {"form": form, "token": token}
    return render_page(request, "web/invitation_accept.html", context, status=status)


# --- Organisation settings: members, invitations, API tokens (admins and owners) ---------------
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
