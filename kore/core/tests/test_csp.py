"""The Content-Security-Policy header is the one django-csp writes, built once per process."""

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.decorators import csp_exempt, csp_replace, csp_update
from csp.middleware import CSPMiddleware as LibraryCSPMiddleware
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import RequestFactory, override_settings

from kore.core.csp import CSPMiddleware
from kore.core.testing import client_for


def _headers(middleware_class: type, path: str, view, *, nonce: bool = False) -> dict[str, str]:
    request = RequestFactory().get(path)

    def respond(req: HttpRequest) -> HttpResponse:
        if nonce:
            str(req.csp_nonce)  # a template asked for one
        return view(req)

    response = middleware_class(respond)(request)
    return {h: response[h] for h in (HEADER, HEADER_REPORT_ONLY) if h in response}


def _plain(request):
    return JsonResponse({"status": "ok"})


@csp_update({"img-src": ["https://example.org"]})
def _updated(request):
    return HttpResponse("page")


@csp_replace({"script-src": ["'self'", "https://cdn.example.org"]})
def _replaced(request):
    return HttpResponse("page")


@csp_exempt()
def _exempt(request):
    return HttpResponse("page")


@pytest.mark.parametrize(
    ("path", "view", "nonce"),
    [
        ("/api/v1/health/live/", _plain, False),
        ("/transactions/", _plain, True),
        ("/transactions/", _updated, False),
        ("/transactions/", _replaced, False),
        ("/transactions/", _exempt, False),
        ("/api/v1/docs/", _plain, False),
    ],
)
def test_every_response_gets_the_header_django_csp_would_write(path, view, nonce):
    ours = _headers(CSPMiddleware, path, view, nonce=nonce)
    assert ours == _headers(LibraryCSPMiddleware, path, view, nonce=nonce)
    if view is _exempt or path.startswith("/api/v1/docs/"):
        assert HEADER not in ours
    else:
        assert "default-src 'self'" in ours[HEADER]


def test_a_changed_policy_is_written_at_once(db):
    before = _headers(CSPMiddleware, "/api/v1/health/live/", _plain)
    policy = {"DIRECTIVES": {"default-src": ["'none'"]}}
    with override_settings(
        CONTENT_SECURITY_POLICY=policy, CONTENT_SECURITY_POLICY_REPORT_ONLY=policy
    ):
        during = _headers(CSPMiddleware, "/api/v1/health/live/", _plain)
    after = _headers(CSPMiddleware, "/api/v1/health/live/", _plain)
    assert during == {HEADER: "default-src 'none'", HEADER_REPORT_ONLY: "default-src 'none'"}
    assert before == after
    assert HEADER_REPORT_ONLY not in after


def test_an_api_answer_through_the_whole_stack_carries_the_policy(world):
    response = client_for(world.member).get(f"/api/v1/orgs/{world.org.slug}/accounts/")
    assert response.status_code == 200
    assert response[HEADER] == _headers(LibraryCSPMiddleware, "/x/", _plain)[HEADER]
