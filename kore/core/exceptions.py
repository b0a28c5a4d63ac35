"""Kore's one error shape and the handler that renders every error in it.

``{"error": {"code", "message", "fields", "request_id"}}``. The status rule:
400 the body can't be parsed or has the wrong shape; 422 well-formed values break a rule;
409 state conflict; 412 failed precondition; 413 too large; 415 media type; 429 throttled.
"""

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework import exceptions as drf
from rest_framework.response import Response

from .request_id import get_request_id

logger = logging.getLogger(__name__)

FieldErrors = dict[str, list[dict[str, str]]]

# Field error codes meaning "wrong shape" (400); any other code is a broken rule (422).
SHAPE_CODES = frozenset(
    {
        "required",
        "null",
        "invalid",
        "not_a_list",
        "not_a_dict",
        "parse_error",
        "unknown_field",
        "invalid_type",
        "max_string_length",
        "make_aware",
        "overflow",
        "invalid_id",
        "invalid_unicode",
    }
)


class KoreError(Exception):
    """An error a client can act on. Services raise subclasses; the handler renders them."""

    status_code = 400
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: FieldErrors | None = None,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.fields = fields or {}
        self.status_code = status_code or self.status_code
        self.headers = dict(headers or {})
        super().__init__(self.message)


class InvalidRequest(KoreError):
    status_code = 400
    code = "invalid_request"
    message = "The request body has the wrong shape."


class Unauthenticated(KoreError):
    status_code = 401
    code = "not_authenticated"
    message = "Authentication credentials were not provided or are not valid."


class PermissionDenied(KoreError):
    status_code = 403
    code = "permission_denied"
    message = "You do not have permission to perform this action."


class HumanOnly(PermissionDenied):
    """Only a person may do this: an API token must not grant power that outlives its revocation."""

    code = "human_only"
    message = "An API token cannot do this; a signed-in person must."


class NotFound(KoreError):
    status_code = 404
    code = "not_found"
    message = "Not found."


class Conflict(KoreError):
    status_code = 409
    code = "conflict"
    message = "The request conflicts with the current state."


class PreconditionFailed(KoreError):
    status_code = 412
    code = "precondition_failed"
    message = "A precondition of the request failed."


class RequestTooLarge(KoreError):
    status_code = 413
    code = "request_too_large"
    message = "The request body is too large."


class DatabaseUnavailable(KoreError):
    """The database went away mid-request (a restart, a failover): nothing was written; the
    client retries. Never a 500 for something that is not a bug."""

    status_code = 503
    code = "database_unavailable"
    message = "The database is not reachable right now; retry in a few seconds."

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "5"})


class RuleViolation(KoreError):
    status_code = 422
    code = "validation_failed"
    message = "Some values break a rule."


def rule_violation(field: str, code: str, message: str) -> RuleViolation:
    """A 422 for one field. A dangling reference is ``invalid_reference`` at the top (the field
    keeps ``not_found``): a top-level ``not_found`` always means 404."""
    top = "invalid_reference" if code == "not_found" else code
    return RuleViolation(message, code=top, fields={field: [{"code": code, "message": message}]})


# Every stable top-level code, with its status: rendered into the OpenAPI schema.
ERROR_CODES: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "Malformed body, unknown field or wrong type."),
    "parse_error": (400, "The body is not valid JSON."),
    "unknown_field": (400, "The body has a field the endpoint does not accept (see fields)."),
    "invalid_type": (400, "A value has the wrong JSON type, e.g. a number for a string."),
    "invalid_unicode": (400, "A string or key holds a lone UTF-16 surrogate (\\ud800-\\udfff)."),
    "invalid_id": (400, "An id is not a whole number from 1 to 2^63-1 (see fields)."),
    "invalid_cursor": (400, "The pagination cursor is not valid for this list."),
    "unknown_parameter": (400, "A query parameter the list does not take (see fields)."),
    "reversed_range": (400, "A range's upper bound is below its lower bound (see fields)."),
    "account_required": (400, "A running balance needs the list filtered to one account."),
    "invalid_idempotency_key": (400, "The Idempotency-Key header is too long or not printable."),
    "bad_request": (400, "The request could not be processed."),
    "not_authenticated": (401, "No credentials, or credentials that are not accepted."),
    "authentication_failed": (401, "Wrong email or password."),
    "token_invalid": (401, "The token is malformed or its signature does not match."),
    "token_expired": (401, "The token has expired."),
    "token_revoked": (
        401,
        "The token was revoked (logout, API token revocation, or a password change or "
        "two-factor sign-in turned on after it was issued).",
    ),
    "mfa_required": (
        401,
        "Two-factor sign-in is on: post the returned challenge with the code (token endpoint).",
    ),
    "mfa_code_invalid": (401, "The two-factor code is wrong or was already used."),
    "mfa_challenge_invalid": (401, "The two-factor challenge is invalid or expired."),
    "token_blacklisted": (401, "The refresh token was already used or revoked."),
    "permission_denied": (403, "Your role does not allow this action."),
    "human_only": (
        403,
        "Only a person may do this, never an API token: invite, revoke invitations, change or "
        "remove members, create or revoke API tokens, create organisations, accept invitations, "
        "sign out, edit the token's creator, move the lock date or manage webhooks.",
    ),
    "csrf_failed": (403, "The CSRF check failed (browser session requests)."),
    "signup_closed": (403, "Open signup is off; ask for an invitation."),
    "not_found": (404, "No such object in your organisations."),
    "method_not_allowed": (405, "The method is not allowed on this path."),
    "not_acceptable": (406, "No acceptable representation."),
    "conflict": (409, "The request conflicts with the current state."),
    "last_owner": (409, "An organisation must keep at least one owner."),
    "already_member": (409, "The person is already a member."),
    "account_name_taken": (409, "An account with this name exists."),
    "account_in_use": (409, "The account has transactions; archive it instead."),
    "account_currency_locked": (409, "An account with transactions cannot change currency."),
    "account_archived": (409, "The account is archived and accepts no new transactions."),
    "category_name_taken": (409, "A sibling category has this name."),
    "category_in_use": (409, "The category is in use; pass reassign_to."),
    "transaction_locked": (409, "The transaction is reconciled; reopen its statement first."),
    "transfer_leg": (409, "Change a transfer through its /transfers/{id}/ endpoint."),
    "period_reconciled": (
        409,
        "The date is in a closed period: on or before the account's latest reconciled "
        "statement, or the organisation's lock date.",
    ),
    "statement_reconciled": (409, "The statement is reconciled; reopen it before changing it."),
    "statement_open": (409, "The statement is not reconciled."),
    "idempotency_in_progress": (409, "A request with this Idempotency-Key is still running."),
    "invitation_used": (409, "The invitation was already accepted."),
    "email_taken": (409, "An account with this email exists."),
    "slug_taken": (409, "The organisation slug is taken."),
    "attachment_duplicate": (409, "The organisation already holds this file (see message)."),
    "import_finished": (409, "The import already ended; only queued or running ones cancel."),
    "import_not_forceable": (409, "Only a finished, real import's duplicates can be forced."),
    "import_not_undoable": (409, "Only a finished, real import's matches can be linked or undone."),
    "import_match_changed": (409, "The linked transaction changed since; edit it instead."),
    "not_a_dry_run": (409, "Only a finished dry run can be run for real (promote)."),
    "dry_run_has_errors": (409, "The all_or_nothing dry run found invalid rows; fix the file."),
    "dry_run_expired": (409, "The dry run's file is gone (already run, or expired): upload it."),
    "kore_csv_accounts_in_use": (
        409,
        "An account Kore's export names already holds transactions; importing could double them.",
    ),
    "export_not_ready": (409, "The export job has not finished; poll it until status is done."),
    "payee_alias_taken": (409, "Another payee answers to this spelling; merge the two instead."),
    "rule_changed": (409, "The rule changed after its run was asked for; run it again."),
    "rule_run_not_undoable": (409, "Only a finished rule run can be undone."),
    "precondition_failed": (412, "A precondition failed."),
    "version_conflict": (412, "The object changed since you read it (If-Match); refetch."),
    "request_too_large": (413, "The body is larger than the limit."),
    "unsupported_media_type": (415, "The body's media type is not accepted."),
    "validation_failed": (422, "Well-formed values break a rule."),
    "invitation_expired": (422, "The invitation has expired."),
    "role_too_high": (422, "A role above your own cannot be granted."),
    "invitation_invalid": (422, "The invitation token is not valid."),
    "password_required": (422, "A new account needs a password."),
    "password_too_weak": (422, "The password fails the password rules (see fields)."),
    "mfa_setup_code_invalid": (422, "The code does not match the new two-factor secret."),
    "password_reset_invalid": (422, "The password reset link is invalid, used or expired."),
    "expiry_in_past": (422, "The expiry date is in the past."),
    "batch_too_large": (422, "Too many items in one call."),
    "reconciliation_mismatch": (422, "The statement's balance does not match its transactions."),
    "limit_out_of_range": (422, "The page size (limit) is out of range."),
    "idempotency_key_reused": (422, "The Idempotency-Key was used with a different request."),
    "amount_precision": (422, "More decimals than the currency's ISO 4217 minor units."),
    "amount_too_large": (422, "The amount has too many digits."),
    "currency_unknown": (422, "Not an ISO 4217 currency with minor units."),
    "splits_sum_mismatch": (422, "Split amounts do not add up to the transaction amount."),
    "metadata_too_many_keys": (422, "Metadata has more than 50 keys."),
    "metadata_key_too_long": (422, "A metadata key is longer than 40 characters."),
    "metadata_value_too_long": (422, "A metadata value is longer than 500 characters."),
    "status_reconciled": (422, "Only reconciling a statement sets the reconciled status."),
    "invalid_reference": (422, "An id names nothing in this organisation (see fields)."),
    "batch_rejected": (422, "Some items of a batch break a rule; nothing was written."),
    "ids_or_filter": (422, "A bulk call takes either ids or a filter."),
    "category_too_deep": (422, "Categories nest at most three levels."),
    "category_kind_mismatch": (422, "A category has its parent's kind."),
    "category_cycle": (422, "A category cannot move under itself or its descendants."),
    "same_account": (422, "A transfer needs two different accounts."),
    "amount_not_positive": (422, "The amount moved must be positive."),
    "to_amount_required": (422, "A cross-currency transfer states both amounts."),
    "to_amount_mismatch": (422, "Same-currency transfers move equal amounts."),
    "rate_mismatch": (422, "Same-currency transfers have a rate of 1."),
    "rate_or_to_amount": (422, "Correct a cross-currency transfer with to_amount or rate."),
    "rate_not_positive": (422, "The rate must be positive."),
    "rate_inexact": (
        422,
        "amount x rate has more decimals than the currency; give to_amount instead.",
    ),
    "transfer_category": (
        422,
        "A transfer leg takes no income or expense category (a transfer category, or none).",
    ),
    "import_file_empty": (422, "The uploaded import file is empty."),
    "kore_csv_invalid": (422, "Not Kore's CSV export, or a cell it cannot hold (see fields)."),
    "kore_csv_transfer_incomplete": (
        422,
        "A transfer in Kore's export lacks a leg (export both accounts) or its legs disagree.",
    ),
    "kore_csv_rate_mismatch": (422, "A transfer's rate in Kore's export disagrees with its legs."),
    "kore_csv_category_unclear": (
        422,
        "A category name in Kore's export is held by several categories, or used for money in "
        "and out without existing yet.",
    ),
    "import_line_not_duplicate": (422, "A forced line is not a skipped duplicate of the import."),
    "import_line_not_matched": (422, "The line was not matched to a transaction entered by hand."),
    "import_not_a_candidate": (422, "The chosen transaction is not one of the line's candidates."),
    "suggestion_not_offered": (422, "The category is not among the row's suggestions now."),
    "confidence_out_of_range": (422, "An auto-apply confidence is between 0.50 and 1.00, or null."),
    "account_ref_taken": (422, "Another account of the organisation has this IBAN or number."),
    "payee_merge_self": (422, "A payee cannot be merged into itself."),
    "payee_alias_empty": (422, "A payee's name or alias has no words to match."),
    "rule_invalid": (422, "A rule's condition or action is not valid (see fields)."),
    "invalid_range": (422, "The date range is inverted or too long."),
    "webhook_url_invalid": (422, "The webhook URL cannot be parsed, or has no host."),
    "webhook_url_scheme": (422, "A webhook URL starts with https:// (or http://)."),
    "webhook_url_credentials": (422, "A webhook URL may not carry a user name or password."),
    "webhook_https_required": (
        422,
        "Webhook URLs must use https:// (outside the embedded runtime).",
    ),
    "webhook_url_private": (422, "The webhook URL names a private, loopback or reserved address."),
    "replay_cursor_required": (422, "A replay needs after_event, after_change or both."),
    "same_currency": (422, "An exchange rate needs two different currencies."),
    "rate_out_of_range": (422, "An exchange rate is between 0.000001 and 1000000."),
    "rate_precision": (422, "An exchange rate has at most 12 decimal places."),
    "rate_file_invalid": (422, "Lines of the exchange-rate file break a rule (see fields)."),
    "budget_currency_no_rate": (
        422,
        "The budget's categories hold transactions in a currency with no rate into its own.",
    ),
    "rollover_needs_months": (422, "Rollover is for monthly budgets, not a custom period."),
    "amount_zero": (422, "The amount must not be zero."),
    "schedule_rule_invalid": (422, "A monthly rule needs day_of_month; the others take none."),
    "schedule_no_dates": (422, "The schedule's rule produces no date before its end."),
    "cursor_expired": (410, "The change-feed cursor is older than the tombstone retention."),
    "throttled": (429, "Too many requests; retry after Retry-After seconds."),
    "mfa_locked": (429, "Too many wrong two-factor codes; retry after Retry-After seconds."),
    "server_error": (500, "An unexpected error; quote the request id."),
    "service_unavailable": (503, "Kore is not reachable behind the proxy right now; retry."),
    "database_unavailable": (
        503,
        "The database is not reachable right now; retry (a write with "
        "the same Idempotency-Key is applied once).",
    ),
    "gateway_timeout": (504, "Kore did not answer the proxy in time."),
}


def error_body(
    code: str, message: str, fields: Mapping[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    return {
        "error": {
            "code": code,
            "message": message,
            "fields": dict(fields or {}),
            "request_id": get_request_id(),
        }
    }


def _flatten(detail: Any, prefix: str = "") -> FieldErrors:
    """Turn DRF's nested ``get_full_details()`` into ``{"a.0.b": [{"code", "message"}]}``."""
    out: FieldErrors = {}
    if isinstance(detail, dict) and set(detail) == {"message", "code"}:
        out.setdefault(prefix or "non_field_errors", []).append(
            {"code": str(detail["code"]), "message": str(detail["message"])}
        )
    elif isinstance(detail, dict):
        for key, value in detail.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            is_leaf = isinstance(item, dict) and set(item) == {"message", "code"}
            child = prefix if is_leaf else f"{prefix}.{index}" if prefix else str(index)
            for key, errors in _flatten(item, child).items():
                out.setdefault(key, []).extend(errors)
    return out


def validation_error_to_kore(exc: drf.ValidationError) -> KoreError:
    """400 when any error is about shape, 422 when every error is a broken rule."""
    fields = _flatten(exc.get_full_details())
    codes = {e["code"] for errors in fields.values() for e in errors}
    if codes & SHAPE_CODES:
        error: KoreError = InvalidRequest(fields=fields)
    else:
        error = RuleViolation(fields=fields)
    # One shared field code becomes the top-level code, but only a stable (documented) one.
    if len(codes) == 1 and not codes <= {"invalid"} and next(iter(codes)) in ERROR_CODES:
        error.code = codes.pop()
    first = next(iter(fields.values()))[0]["message"] if fields else error.message
    error.message = first
    return error


def _from_drf(exc: drf.APIException) -> KoreError:
    detail = exc.detail
    code = exc.get_codes() if not isinstance(exc.detail, dict) else exc.default_code
    message = str(detail) if not isinstance(detail, dict | list) else str(exc.default_detail)
    if isinstance(detail, dict) and "detail" in detail:
        message = str(detail["detail"])
        code = str(detail.get("code", exc.default_code))
    mapped = {
        "parse_error": "parse_error",
        "not_authenticated": "not_authenticated",
        "authentication_failed": "authentication_failed",
        "permission_denied": "permission_denied",
        "not_found": "not_found",
        "method_not_allowed": "method_not_allowed",
        "not_acceptable": "not_acceptable",
        "unsupported_media_type": "unsupported_media_type",
        "throttled": "throttled",
        "token_not_valid": "token_invalid",
    }
    if isinstance(exc, drf.PermissionDenied) and message.startswith("CSRF Failed"):
        code = "csrf_failed"  # DRF's SessionAuthentication reports CSRF as a plain 403
    headers: dict[str, str] = {}
    wait = getattr(exc, "wait", None)
    if isinstance(exc, drf.Throttled) and wait is not None:
        headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        message = f"Too many requests. Retry in {headers['Retry-After']} seconds."
    return KoreError(
        message,
        code=mapped.get(str(code), str(code)),
        status_code=exc.status_code,
        headers=headers,
    )


def to_kore_error(exc: Exception) -> KoreError | None:
    if isinstance(exc, KoreError):
        return exc
    if isinstance(exc, drf.ValidationError):
        return validation_error_to_kore(exc)
    if isinstance(exc, drf.APIException):
        return _from_drf(exc)
    if isinstance(exc, Http404):
        return NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if isinstance(exc, OperationalError | InterfaceError):
        return DatabaseUnavailable()
    return None


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every API error leaves in Kore's shape."""
    from rest_framework.views import set_rollback  # here: rest_framework.views imports settings

    error = to_kore_error(exc)
    if error is None:
        return None  # a real bug: Django's handler500 renders it and it is logged
    set_rollback()
    response = Response(
        error_body(error.code, error.message, error.fields), status=error.status_code
    )
    request = context.get("request")
    auth_header = getattr(exc, "auth_header", None)
    if error.status_code == 401 and request is not None:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    elif auth_header:
        response["WWW-Authenticate"] = auth_header
    for name, value in error.headers.items():
        response[name] = value
    return response


# --- Django's own error views (non-DRF paths, e.g. unknown URLs, admin) ------------------------
# A browser asking for a page outside the API gets the web app's error page; API clients and
# anything not asking for HTML get Kore's JSON error shape.
def _wants_page(request: HttpRequest) -> bool:
    path = request.path
    return not path.startswith(("/api/", "/ops/metrics")) and "text/html" in request.headers.get(
        "Accept", ""
    )


def _error(request: HttpRequest, code: str, message: str, status: int) -> HttpResponse:
    if _wants_page(request):
        try:
            return render(
                request, "web/error.html", {"status": status, "message": message}, status=status
            )
        except Exception:  # a broken page must not hide the error itself
            logger.exception("rendering the %s page failed", status)
    return JsonResponse(error_body(code, message), status=status)


def render_error(request: HttpRequest, error: KoreError) -> HttpResponse:
    """A KoreError raised outside DRF (middleware): the page or Kore's JSON, with its headers."""
    response = _error(request, error.code, error.message, error.status_code)
    for name, value in error.headers.items():
        response[name] = value
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, "bad_request", "Bad request.", 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request, "permission_denied", "You do not have permission to perform this action.", 403
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, "not_found", "Not found.", 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(
        request, "server_error", "An unexpected error occurred; quote the request id.", 500
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    message = f"CSRF check failed: {reason}"
    if _wants_page(request):
        message = (
            "This form expired or came from elsewhere. Go back, reload the page and try again."
        )
    return _error(request, "csrf_failed", message, 403)
