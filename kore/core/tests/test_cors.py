"""Kore's CORS middleware writes exactly the headers django-cors-headers' own writes."""

import pytest
from corsheaders.middleware import CorsMiddleware as BaseCorsMiddleware
from django.http import HttpResponse
from django.http.response import ResponseHeaders
from django.test import RequestFactory

from kore.core.middleware import CorsMiddleware

ORIGIN = "https://app.example"


def _headers(middleware_class: type, method: str, path: str, **meta: str) -> ResponseHeaders:
    middleware = middleware_class(lambda request: HttpResponse("ok"))
    request = RequestFactory().generic(method, path, **meta)
    return middleware(request).headers


@pytest.mark.parametrize("path", ["/api/v1/health/live/", "/accounts/x/"])
@pytest.mark.parametrize("method", ["GET", "POST", "OPTIONS"])
@pytest.mark.parametrize(
    "meta",
    [
        {},
        {"HTTP_ORIGIN": ""},
        {"HTTP_ORIGIN": ORIGIN},
        {"HTTP_ORIGIN": "https://elsewhere.example"},
        {"HTTP_ORIGIN": ORIGIN, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PATCH"},
        {"HTTP_ORIGIN": "http://[bad"},
    ],
)
def test_same_headers_as_django_cors_headers(settings, path, method, meta):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
    # The same names (spelling included), values and order.
    assert list(_headers(CorsMiddleware, method, path, **meta).items()) == list(
        _headers(BaseCorsMiddleware, method, path, **meta).items()
    )


def test_api_response_varies_on_origin_and_allows_a_listed_one(settings):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
    assert "origin" in _headers(CorsMiddleware, "GET", "/api/v1/x/")["Vary"]
    allowed = _headers(CorsMiddleware, "GET", "/api/v1/x/", HTTP_ORIGIN=ORIGIN)
    assert allowed["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Request-ID" in allowed["Access-Control-Expose-Headers"]
