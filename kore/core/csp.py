"""The Content-Security-Policy header, built from the settings once instead of per response."""

from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as LibraryCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from .bearer import is_bearer_api_request

# What a view or a template can set to shape its own policy: such responses go the long way.
_SHAPING = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
_HEADERS = (
    (HEADER, "CONTENT_SECURITY_POLICY", "_csp_exempt", False),
    (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", "_csp_exempt_ro", True),
)
# header -> (value, excluded path prefixes), from the settings as they are now.
_built: dict[str, tuple[str, tuple[str, ...]]] = {}


@receiver(setting_changed)
def _forget_built_policy(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _built.clear()


def _policy(header: str, setting: str, report_only: bool) -> tuple[str, tuple[str, ...]]:
    if header not in _built:
        prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
        _built[header] = (build_policy(report_only=report_only), tuple(prefixes))
    return _built[header]


class CSPMiddleware(LibraryCSPMiddleware):
    """django-csp's middleware with the settings' policy built once per process.

    django-csp rebuilds the same header string on every response (a tenth of the CPU of a
    trivial API request). Responses get exactly the header they got before: one whose request
    used a nonce or whose view shaped its own policy is left to django-csp, as are the debug
    pages; the built policy is forgotten when the settings change. An API client's request
    (kore.core.bearer) renders no template, so it gets no nonce to ask for: just the header.
    """

    def process_request(self, request: HttpRequest) -> None:
        if not is_bearer_api_request(request):
            super().process_request(request)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if (
            getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, name) for name in _SHAPING)
            or settings.DEBUG
        ):
            return super().process_response(request, response)
        for header, setting, exempt, report_only in _HEADERS:
            value, excluded = _policy(header, setting, report_only)
            if (
                value
                and header not in response
                and getattr(response, exempt, False) is False
                and not request.path_info.startswith(excluded)
            ):
                response[header] = value
        if is_bearer_api_request(request):
            return response
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
