"""Sign in and out, password reset, invitations and the start page.

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
from django.views.decorators.http import require_GET, require_http_methods

from kore.core.exceptions import KoreError
from kore.core.throttling import credential_attempt_throttle
from kore.orgs import selectors as org_selectors
from kore.orgs import services as org_services
from kore.orgs.models import User

from .. import forms
from ..access import error_page, render_page, request_ip, throttled_page
from ..signin import sign_in_providers
from .mfa import start_second_step, totp_of


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
