from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from .audit import current_api_token_id
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
