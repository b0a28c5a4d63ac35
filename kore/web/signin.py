"""Signing in through an outside account ("Sign in with Google", allauth's OpenID Connect
provider) on Kore's own pages and rules.

allauth runs the provider round trip; Kore decides who that is. A Google account signs in as
the Kore user with the same email only when Google says the address is verified; otherwise, or
with no email at all, it is refused with a page that says why (never allauth's sign-up form).
A person with two-factor sign-in on still gives their code on Kore's code page.

The admin has no login page of its own: ``admin_sign_in`` sends people to Kore's sign-in (and
its two-factor step) and back.
"""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.stages import LoginStage
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from kore.orgs.models import User

from .access import error_page
from .views.mfa import start_second_step, totp_of


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]
    def get_login_stages(self) -> list[str]:
        """allauth's own two-factor stages would send people to allauth's pages: Kore's code
        step replaces them."""
        stages = [s for s in super().get_login_stages() if not s.startswith("allauth.mfa.")]
        return [*stages, "kore.web.signin.SecondStepStage"]


class SecondStepStage(LoginStage):  # type: ignore[misc]
    key = "kore_second_step"
    urlname = "web:login-code"

    def handle(self) -> tuple[HttpResponse | None, bool]:
        user = self.login.user
        if user is None or totp_of(user) is None:
            return None, True
        # Kore's code page finishes the sign-in; allauth's pending login is dropped.
        return start_second_step(self.request, user, self.login.redirect_url or ""), False


class SocialAccountAdapter(DefaultSocialAccountAdapter):  # type: ignore[misc]
    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        if sociallogin.is_existing:
            if not sociallogin.user.is_active:
                raise ImmediateHttpResponse(
                    error_page(request, 403, "This Kore account is deactivated.")
                )
            return
        addresses = [a for a in sociallogin.email_addresses if a.verified]
        if not addresses:
            raise ImmediateHttpResponse(
                error_page(
                    request,
                    403,
                    f"{sociallogin.account.get_provider().name} did not confirm an email "
                    "address for this account, so Kore cannot tell who you are. Sign in with "
                    "your password instead.",
                )
            )
        email = addresses[0].email
        if User.objects.filter(email__iexact=email, is_active=False).exists():
            raise ImmediateHttpResponse(
                error_page(request, 403, "This Kore account is deactivated.")
            )
        sociallogin.user.email = email.lower()

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: Any) -> Any:
        user = super().populate_user(request, sociallogin, data)
        name = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
        user.full_name = (data.get("name") or name or "")[:150]
        return user


def sign_in_providers() -> list[dict[str, str]]:
    """The outside sign-in providers configured in settings (Google when GOOGLE_CLIENT_ID and
    GOOGLE_CLIENT_SECRET are set; none otherwise), as ``{"id", "name"}``."""
    apps = settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", [])
    return [{"id": app["provider_id"], "name": app["name"]} for app in apps]


def admin_sign_in(request: HttpRequest, extra_context: object = None) -> HttpResponse:
    """``admin.site.login``: Kore's sign-in page, so staff give their two-factor code too."""
    target = request.GET.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("admin:index")
    if request.user.is_authenticated:
        if request.user.is_staff:
            return redirect(target)
        return error_page(request, 403, "This account cannot use the admin.")
    return redirect(f"{reverse('web:login')}?{urlencode({'next': target})}")
