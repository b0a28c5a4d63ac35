"""Every 4xx/5xx leaves as ``{"error": {"code", "message", "fields", "request_id"}}``."""

import ast
from pathlib import Path

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from config import urls as project_urls
from kore.core.exceptions import ERROR_CODES
from kore.core.testing import assert_error, client_for
from kore.orgs.tests.factories import PASSWORD, UserFactory

TOKEN = "/api/v1/auth/token/"
ME = "/api/v1/me/"


# --- A test-only urlconf: views that fail in ways no real view should -------------------------
def _plain_boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a plain Django view")


class _ApiBoom(APIView):
    authentication_classes = ()
    permission_classes = ()

    def get(self, request: Request) -> Response:
        raise ZeroDivisionError("a bug in a DRF view")


urlpatterns = [
    path("boom/plain/", _plain_boom),
    path("boom/api/", _ApiBoom.as_view()),
    *project_urls.urlpatterns,
]
# The project's own handlers, so this urlconf exercises exactly what config.urls installs.
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500


def _anon() -> APIClient:
    return APIClient()


# --- Django's own errors ------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/nope/", "/nope", "/api/v1/nope/", "/api/v1/orgs/x/y/z/"])
def test_unknown_url_is_json_404(db, url):
    response = Client().get(url)
    assert response["Content-Type"].startswith("application/json")
    error = assert_error(response, 404, "not_found")
    assert error["fields"] == {}


def test_disallowed_host_is_json_400(db):
    response = Client().get("/api/v1/health/live/", HTTP_HOST="evil.example.com")
    assert response["Content-Type"].startswith("application/json")
    assert_error(response, 400, "bad_request")


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("url", ["/boom/plain/", "/boom/api/"])
def test_unexpected_exception_is_json_500(db, url):
    client = Client(raise_request_exception=False)
    response = client.get(url)
    assert response["Content-Type"].startswith("application/json")
    error = assert_error(response, 500, "server_error")
    # Never the exception text or a traceback.
    assert "bug" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert error["request_id"]


@pytest.mark.urls(__name__)
def test_500_logs_the_exception(db, caplog):
    client = Client(raise_request_exception=False)
    with caplog.at_level("ERROR", logger="django.request"):
        response = client.get("/boom/api/")
    assert response.status_code == 500
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)


# --- Parsing and shape --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body", [b"{", b'{"email": }', b"not json", b'{"email": "a@b.c",}', b"\xff\xfe{}", b"[1, 2"]
)
def test_malformed_json_is_400_parse_error(db, body):
    response = _anon().post(TOKEN, body, content_type="application/json")
    error = assert_error(response, 400, "parse_error")
    assert error["fields"] == {}


def test_unknown_field_is_400_with_fields(db):
    response = _anon().post(
        TOKEN, {"email": "a@example.com", "password": "x" * 12, "admin": True}, format="json"
    )
    error = assert_error(response, 400, "unknown_field")
    assert error["fields"] == {"admin": [{"code": "unknown_field", "message": "Unknown field."}]}


def test_unknown_field_on_patch_me(db):
    user = UserFactory()
    response = client_for(user).patch(ME, {"full_name": "A", "is_staff": True}, format="json")
    error = assert_error(response, 400, "unknown_field")
    assert set(error["fields"]) == {"is_staff"}
    user.refresh_from_db()
    assert not user.is_staff


def test_number_where_string_expected_is_400(db):
    user = UserFactory()
    response = client_for(user).patch(ME, {"full_name": 12345}, format="json")
    error = assert_error(response, 400, "invalid_type")
    assert error["fields"]["full_name"][0]["code"] == "invalid_type"


def test_number_as_password_is_400_not_a_login(db):
    user = UserFactory(password="1234567890")
    response = _anon().post(TOKEN, {"email": user.email, "password": 1234567890}, format="json")
    error = assert_error(response, 400)
    assert error["fields"]["password"][0]["code"] == "invalid_type"


def test_missing_fields_are_400_with_each_field(db):
    response = _anon().post(TOKEN, {}, format="json")
    error = assert_error(response, 400)
    assert set(error["fields"]) == {"email", "password"}
    assert error["code"] in ERROR_CODES


@pytest.mark.parametrize("body", [b"[]", b'"x"', b"1", b"null"])
def test_json_that_is_not_an_object_is_400(db, body):
    response = _anon().post(TOKEN, body, content_type="application/json")
    error = assert_error(response, 400)
    assert error["code"] in ERROR_CODES


# --- Media type and method ------------------------------------------------------------------------
def test_form_data_is_415(db):
    response = _anon().post(
        TOKEN, {"email": "a@example.com", "password": "x" * 12}, format="multipart"
    )
    assert_error(response, 415, "unsupported_media_type")


def test_urlencoded_is_415(db):
    response = _anon().post(
        TOKEN,
        "email=a%40example.com&password=xxxxxxxxxxxx",
        content_type="application/x-www-form-urlencoded",
    )
    assert_error(response, 415, "unsupported_media_type")


def test_text_plain_is_415(db):
    response = _anon().post(TOKEN, '{"email": "a@example.com"}', content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_text_plain_patch_me_is_415(db):
    user = UserFactory()
    response = client_for(user).patch(ME, '{"full_name": "A"}', content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(("method", "url"), [("delete", TOKEN), ("get", TOKEN), ("put", ME)])
def test_method_not_allowed_is_405(db, method, url):
    response = getattr(client_for(UserFactory()), method)(url, {}, format="json")
    assert_error(response, 405, "method_not_allowed")


# --- Authentication errors keep the shape too ---------------------------------------------
def test_wrong_password_is_401_authentication_failed(db):
    user = UserFactory()
    response = _anon().post(TOKEN, {"email": user.email, "password": "wrong-pass"}, format="json")
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_right_password_is_200(db):
    user = UserFactory()
    response = _anon().post(TOKEN, {"email": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access", "refresh"}


def test_garbage_bearer_is_401_token_invalid(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")
    assert_error(client.get(ME), 401, "token_invalid")


def test_no_credentials_is_401(db):
    assert_error(_anon().get(ME), 401, "not_authenticated")


def test_throttled_is_429_with_retry_after(db):
    # login_ip allows 10/min: the eleventh attempt from one address is refused.
    for _ in range(10):
        _anon().post(TOKEN, {"email": "x@example.com", "password": "y" * 12}, format="json")
    response = _anon().post(TOKEN, {"email": "z@example.com", "password": "y"}, format="json")
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1


# --- The documented code list is the whole list -------------------------------------------
def _codes_raised_in_source() -> dict[str, set[int]]:
    """Every ``code="..."`` passed to a Kore error in application code, with its status."""
    from kore.core import exceptions

    root = Path(__file__).resolve().parents[2]
    classes = {
        name: cls.status_code
        for name, cls in vars(exceptions).items()
        if isinstance(cls, type) and issubclass(cls, exceptions.KoreError)
    }
    codes: dict[str, set[int]] = {}
    for file in root.rglob("*.py"):
        if "tests" in file.parts or "migrations" in file.parts:
            continue
        for node in ast.walk(ast.parse(file.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name not in classes:
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            code = keywords.get("code")
            if not isinstance(code, ast.Constant):
                continue
            status = keywords.get("status_code")
            statuses = codes.setdefault(code.value, set())
            if isinstance(status, ast.Constant):
                statuses.add(status.value)
            elif status is None:
                statuses.add(classes[name])
    return codes


def test_every_code_raised_is_documented_with_its_status():
    raised = _codes_raised_in_source()
    assert raised["authentication_failed"] == {401}  # the scan does find codes
    assert raised["signup_closed"] == {403}
    assert set(raised) - set(ERROR_CODES) == set()
    wrong = {
        code: (statuses, ERROR_CODES[code][0])
        for code, statuses in raised.items()
        if statuses != {ERROR_CODES[code][0]}
    }
    assert wrong == {}


def test_only_documented_codes_are_promoted_from_field_errors(db):
    # A single field error whose code is not a stable code must not become the top-level code.
    response = _anon().post(TOKEN, {"email": "not-an-email", "password": "x" * 12}, format="json")
    error = assert_error(response, 400)
    assert error["code"] in ERROR_CODES
    assert error["fields"]["email"][0]["code"] == "invalid"


def test_session_write_without_csrf_token_is_403_csrf_failed(db):
    user = UserFactory()
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username=user.email, password=PASSWORD)
    response = client.patch(ME, {"full_name": "No Token"}, format="json")
    error = assert_error(response, 403, "csrf_failed")
    assert "CSRF" in error["message"]
    user.refresh_from_db()
    assert user.full_name != "No Token"


def test_session_write_with_csrf_token_works(db):
    user = UserFactory()
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username=user.email, password=PASSWORD)
    token = client.get("/account/security/").cookies["csrftoken"].value
    response = client.patch(ME, {"full_name": "With Token"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content


def test_django_csrf_failure_view_is_json(db):
    # Non-DRF views (the sign-in form) fail CSRF through CSRF_FAILURE_VIEW.
    client = Client(enforce_csrf_checks=True)
    response = client.post("/sign-in/", {"username": "a", "password": "b"})
    assert_error(response, 403, "csrf_failed")
