"""Rate limits, counted in the shared cache (Redis in production)."""

from typing import TYPE_CHECKING, Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.views import APIView


def _is_api_token(request: Request) -> bool:
    return getattr(request.auth, "is_api_token", False) is True


class UserRateThrottle(SimpleRateThrottle):
    """Per signed-in person (JWT or session)."""

    scope = "user"

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        if not request.user or not request.user.is_authenticated or _is_api_token(request):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class ApiTokenRateThrottle(SimpleRateThrottle):
    """Per API token, so one machine client cannot starve its organisation's people."""

    scope = "api_token"

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        if not _is_api_token(request):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class LoginIPThrottle(SimpleRateThrottle):
    """Credential checks per client address."""

    scope = "login_ip"

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginEmailThrottle(SimpleRateThrottle):
    """Credential checks per target email, so spreading over addresses does not help."""

    scope = "login_email"

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        data: Any = request.data
        email = data.get("email") if isinstance(data, dict) else None
        if not isinstance(email, str) or not email:
            return None
        return self.cache_format % {"scope": self.scope, "ident": email.strip().lower()}
