from collections.abc import Awaitable, Callable

from corsheaders.middleware import CorsMiddleware as BaseCorsMiddleware
from django.contrib.auth.middleware import AuthenticationMiddleware as BaseAuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as BaseMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as BaseSessionMiddleware
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import patch_vary_headers
from django.utils.deprecation import MiddlewareMixin

from .audit import current_api_token_id
from .bearer import is_bearer_api_request
from .request_id import REQUEST_ID_HEADER, current_request_id, request_id_from_header


class RequestIdMiddleware:
    """Give every request an id, expose it to logs, and return it in ``X-Request-ID``.

    The id stays current until the response is closed: Django logs 4xx/5xx responses
    ("Bad Request: /path") after the middleware chain has returned, and those lines must carry it.
    The API token of the audit trail (``current_api_token_id``) is cleared at both ends, so a
    thread never stamps one request's history rows with the previous request's token.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from_header(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id  # type: ignore[attr-defined]
        current_request_id.set(request_id)
        current_api_token_id.set(None)  # never inherit the previous request's token
        try:
            response = self.get_response(request)
        except BaseException:
            _forget_request_id()
            raise
        response[REQUEST_ID_HEADER] = request_id
        response._resource_closers.append(_forget_request_id)  # type: ignore[attr-defined]
        return response


def _forget_request_id() -> None:
    current_request_id.set("-")
    current_api_token_id.set(None)


class DatabaseUnavailableMiddleware:
    """The database lost mid-request, also where DRF's handler never sees it (the request's
    transaction failing to commit): a 503 database_unavailable with Retry-After, not a 500. A
    write whose commit was cut may or may not have landed: its Idempotency-Key makes the retry
    safe either way."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        from .exceptions import DatabaseUnavailable, render_error

        return render_error(request, DatabaseUnavailable())


class CorsMiddleware(BaseCorsMiddleware):
    """django-cors-headers, reading the ``Origin`` header from ``META``.

    Its own lookup, ``request.headers``, builds a mapping of every header of the request, on
    every request, to read this one; nothing else on an API request needs that mapping. A
    request without ``Origin`` (every non-browser client) only gets ``Vary: Origin``, exactly as
    before; one with it goes through django-cors-headers unchanged.
    """

    def add_response_headers(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if request.META.get("HTTP_ORIGIN"):
            return super().add_response_headers(request, response)
        enabled = getattr(request, "_cors_enabled", None)
        if enabled is None:
            enabled = self.is_enabled(request)
        if enabled:
            patch_vary_headers(response, ("origin",))
        return response


# --- The browser's middleware, skipped for API clients (kore.core.bearer) -------------------
# Subclasses, not wrappers: Django's admin checks look for the session, authentication and
# message middleware by class. A bearer request gets no session, no ``request.user`` from the
# session (DRF sets it from the token) and no message storage. Django's CSRF middleware stays as
# it is: `check --deploy` looks for it by name, and for DRF's views (CSRF-exempt; DRF checks CSRF
# only for session authentication) it reads one absent cookie and returns.


class BrowserOnly(MiddlewareMixin):
    """Step aside for an API client's request; run the middleware for every other."""

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if is_bearer_api_request(request):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(BrowserOnly, BaseSessionMiddleware):
    """Django's sessions, for every request but an API client's."""


class AuthenticationMiddleware(BrowserOnly, BaseAuthenticationMiddleware):
    """The session's user as ``request.user``, for every request but an API client's."""


class MessageMiddleware(BrowserOnly, BaseMessageMiddleware):
    """Flash messages, for every request but an API client's."""
