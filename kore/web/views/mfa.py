"""Optional two-factor sign-in (TOTP, with recovery codes) on allauth.mfa's authenticators.

Turning it on: the security page shows a fresh secret as a QR code (kept in the session until
confirmed), a code from the app activates it, and the recovery codes are shown once. Signing in:
after the password (or a Google account), a person with an authenticator gives a code before
the session is theirs. The code is checked by ``kore.orgs.services.second_factor_verify``, the
same check as the API's token endpoint.
"""

import base64
import time
from typing import Any, cast

from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import generate_totp_secret
from django import forms
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from kore.core.exceptions import KoreError
from kore.core.throttling import credential_attempt_throttle
from kore.orgs import services as org_services
from kore.orgs.models import User

from ..access import render_page, throttled_page

PENDING = "kore.web.mfa.pending"
SECRET = "kore.web.mfa.secret"  # noqa: S105 - a session key name
RECOVERY = "kore.web.mfa.recovery"
BACKEND = "django.contrib.auth.backends.ModelBackend"


class CodeForm(forms.Form):
    code = forms.RegexField(
        # Six digits from the app, or an eight-digit recovery code.
        regex=r"^[\d\s-]{6,16}$",
        label="Code from your authenticator app, or a recovery code",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def totp_of(user: Any) -> Authenticator | None:
    """The person's TOTP authenticator: None when two-factor sign-in is off."""
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()


def start_second_step(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    """Password (or outside account) accepted: remember who is signing in, ask for the code."""
    request.session[PENDING] = {"user": user.pk, "next": next_url, "at": time.time()}
    return redirect("web:login-code")


def _pending_user(request: HttpRequest) -> tuple[User | None, dict[str, Any]]:
    pending = request.session.get(PENDING) or {}
    fresh = time.time() - float(pending.get("at", 0)) < org_services.MFA_CHALLENGE_SECONDS
    pk = pending.get("user")
    user = User.objects.filter(pk=pk, is_active=True).first() if fresh and pk else None
    return user, pending


@require_http_methods(["GET", "POST"])
def sign_in_code(request: HttpRequest) -> HttpResponse:
    user, pending = _pending_user(request)
    if user is None:
        request.session.pop(PENDING, None)
        return redirect("web:login")
    if request.method == "POST":
        # Counted with the password attempts (per address and per email), before the check.
        wait = credential_attempt_throttle(request, email=user.email)
        if wait is not None:
            return throttled_page(request, wait)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            org_services.second_factor_verify(user=user, code=form.cleaned_data["code"])
        except KoreError as exc:
            if exc.code == "mfa_locked":
                del request.session[PENDING]
                messages.error(request, exc.message)
                return redirect("web:login")
            form.add_error("code", "That code is wrong or was already used. Try the next one.")
            status = 422
        else:
            del request.session[PENDING]
            login(request, user, backend=BACKEND)
            target = pending.get("next") or ""
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                target = ""
            return redirect(target or "web:home")
    elif request.method == "POST":
        status = 400
    return render_page(request, "web/login_code.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def security(request: HttpRequest) -> HttpResponse:
    """Turn two-factor sign-in on (scan, confirm with a code) or off (with a current code)."""
    user = cast(User, request.user)
    enabled = totp_of(user) is not None
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            response = _security_change(request, user, enabled, form.cleaned_data["code"])
            if response is not None:
                return response
            form.add_error("code", "That code is not right. Try the next one.")
    context: dict[str, Any] = {
        "form": form,
        "enabled": enabled,
        "recovery_codes": request.session.pop(RECOVERY, None),
    }
    if not enabled:
        secret = request.session.get(SECRET) or generate_totp_secret()
        request.session[SECRET] = secret
        adapter = get_adapter()
        url = adapter.build_totp_url(user, secret)
        svg = adapter.build_totp_svg(url).encode()
        context |= {
            "secret": secret,
            "qr": "data:image/svg+xml;base64," + base64.b64encode(svg).decode(),
        }
    return render_page(request, "web/security.html", context, status=status)


def _security_change(
    request: HttpRequest, user: User, enabled: bool, code: str
) -> HttpResponse | None:
    """Apply the on/off change; None when the code was not accepted."""
    try:
        if enabled:
            org_services.totp_deactivate(user=user, code=code)
            messages.success(request, "Two-factor sign-in is off.")
        else:
            codes = org_services.totp_activate(
                user=user, secret=request.session.get(SECRET, ""), code=code
            )
            request.session.pop(SECRET, None)
            # Every other session ended; this one stays (as after a password change).
            update_session_auth_hash(request, user)
            request.session[RECOVERY] = codes
            messages.success(request, "Two-factor sign-in is on.")
    except KoreError:
        return None
    return redirect("web:security")
