"""Optional two-factor sign-in (TOTP) on allauth.mfa's authenticators.

Turning it on: the security page shows a fresh secret as a QR code (kept in the session until
confirmed) and a code from the app activates it. Signing in: after the password, a person with
an authenticator is asked for a code before the session is theirs.
"""

import base64
from typing import Any, cast

from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    TOTP,
    generate_totp_secret,
    validate_totp_code,
)
from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from kore.orgs.models import User

from .access import render_page

PENDING = "kore.web.mfa.pending"
SECRET = "kore.web.mfa.secret"  # noqa: S105 - a session key name
MAX_TRIES = 5
BACKEND = "django.contrib.auth.backends.ModelBackend"


class CodeForm(forms.Form):
    code = forms.RegexField(
        regex=r"^\s*\d{6}\s*$",
        label="Code from your authenticator app",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def totp_of(user: Any) -> Authenticator | None:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()


def start_second_step(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    """Password accepted: remember who is signing in, and ask for the code."""
    request.session[PENDING] = {"user": user.pk, "next": next_url, "tries": 0}
    return redirect("web:login-code")


@require_http_methods(["GET", "POST"])
def sign_in_code(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING)
    if not pending:
        return redirect("web:login")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        user = User.objects.filter(pk=pending["user"], is_active=True).first()
        authenticator = totp_of(user) if user is not None else None
        if user is not None and (
            authenticator is None
            or TOTP(authenticator).validate_code(form.cleaned_data["code"].strip())
        ):
            del request.session[PENDING]
            login(request, user, backend=BACKEND)
            target = pending.get("next") or ""
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                target = ""
            return redirect(target or "web:home")
        pending["tries"] += 1
        if pending["tries"] >= MAX_TRIES:
            del request.session[PENDING]
            messages.error(request, "Too many wrong codes. Sign in again.")
            return redirect("web:login")
        request.session[PENDING] = pending
        form.add_error("code", "That code is not right (or was already used). Try the next one.")
        status = 422
    elif request.method == "POST":
        status = 400
    return render_page(request, "web/login_code.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def security(request: HttpRequest) -> HttpResponse:
    """Turn two-factor sign-in on (scan, confirm with a code) or off (with a current code)."""
    user = cast(User, request.user)
    authenticator = totp_of(user)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            code = form.cleaned_data["code"].strip()
            if authenticator is None:
                secret = request.session.get(SECRET, "")
                if secret and validate_totp_code(secret, code):
                    TOTP.activate(user, secret)
                    request.session.pop(SECRET, None)
                    messages.success(request, "Two-factor sign-in is on.")
                    return redirect("web:security")
            elif TOTP(authenticator).validate_code(code):
                authenticator.delete()
                messages.success(request, "Two-factor sign-in is off.")
                return redirect("web:security")
            form.add_error("code", "That code is not right. Try the next one.")
    context: dict[str, Any] = {"form": form, "enabled": authenticator is not None}
    if authenticator is None:
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
