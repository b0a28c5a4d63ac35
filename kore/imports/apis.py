"""Import endpoints under /api/v1/orgs/{slug}/imports/.

``POST`` takes a multipart upload (field ``file``) and answers 202 with the queued job; the worker
does the rest. The upload streams to a temporary file through ``ImportUploadHandler``, which
refuses a body over ``KORE_IMPORT_MAX_BYTES`` by its Content-Length and while streaming.
"""

import dataclasses
import re
import zoneinfo
from typing import Any

from django.http import HttpRequest
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import InvalidRequest, NotFound
from kore.core.fields import IdField, JSONTextField
from kore.core.pagination import parse_limit
from kore.core.parsers import StrictJSONParser
from kore.core.serializers import StrictSerializer
from kore.core.uploads import SizeLimitedUploadHandler
from kore.orgs.models import Role
from kore.orgs.scoping import OrgAPIView

from . import services
from .kore_export import kore_export_import
from .models import ImportJob
from .readers.csv_reader import (
    DATE_CODES,
    DELIMITERS,
    ENCODINGS,
    LOCALES,
    MAX_COLUMNS,
    PREAMBLE_LINES,
)
from .selectors import import_job_get, import_job_page


class ImportUploadHandler(SizeLimitedUploadHandler):
    limit_setting = "KORE_IMPORT_MAX_BYTES"
    too_large = staticmethod(services.too_large)


# A mapping is a flat object of a dozen short strings: 16 KB and one level are plenty.
MAPPING_MAX_BYTES = 16 * 1024
MAPPING_MAX_DEPTH = 1


class ColumnField(serializers.Field):  # type: ignore[type-arg]
    """A column: its header name, or its 1-based position (files without a header)."""

    default_error_messages = {
        "invalid_column": "A header name (at most 200 characters) or a position from 1 to "
        f"{MAX_COLUMNS}.",
    }

    def to_internal_value(self, data: Any) -> str | int:
        if isinstance(data, str) and 0 < len(data) <= 200:
            return data
        if isinstance(data, int) and not isinstance(data, bool) and 1 <= data <= MAX_COLUMNS:
            return data
        self.fail("invalid_column")
        raise AssertionError  # fail() raises

    def to_representation(self, value: Any) -> Any:
        return value


DATE_FORMAT_HELP = (
    "strftime codes: " + ", ".join(f"%{code} {meaning}" for code, meaning in DATE_CODES.items())
    + "; a day, a month and a year at least (e.g. %d.%m.%Y, %m/%d/%Y %I:%M %p)."
)  # fmt: skip


def date_format_check(value: str) -> None:
    """A declared date_format: known codes only, with a day, a month and a year."""
    codes = re.findall(r"%(.?)", value)
    unknown = sorted({f"%{c}" for c in codes if c not in DATE_CODES})
    complete = "d" in codes and {"m", "b", "B"} & set(codes) and {"y", "Y"} & set(codes)
    if unknown or not complete:
        problem = f"Unknown code {', '.join(unknown)}. " if unknown else ""
        raise serializers.ValidationError(f"{problem}Use {DATE_FORMAT_HELP}",
                                          code="invalid_date_format")  # fmt: skip


def time_zone_check(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise serializers.ValidationError(
            "An IANA time zone name, e.g. Europe/Berlin.", code="invalid_time_zone"
        )


class MappingInput(StrictSerializer):
    """CSV and spreadsheet column mapping: a header name (or a 1-based position, for files
    without a header) for each role, and optional reading options."""

    date = ColumnField(required=False)
    amount = ColumnField(required=False, help_text="Signed amounts (or see direction).")
    debit = ColumnField(required=False, help_text="With credit: separate amount columns.")
    credit = ColumnField(required=False)
    direction = ColumnField(
        required=False,
        help_text="D/C, Debit/Credit, DBIT/CRDT, Af/Bij, S/H or Soll/Haben beside an unsigned "
        "amount.",
    )
    currency = ColumnField(required=False)
    original_amount = ColumnField(required=False)
    original_currency = ColumnField(required=False)
    state = ColumnField(required=False, help_text="booked, pending, reverted/cancelled.")
    bank_id = ColumnField(required=False, help_text="The bank's own transaction id.")
    account_ref = ColumnField(required=False, help_text="The statement's account or IBAN.")
    description = ColumnField(required=False)
    counterparty = ColumnField(required=False)
    reference = ColumnField(required=False)
    notes = ColumnField(required=False)
    category = ColumnField(
        required=False,
        help_text="Category names, found in the organisation (any case; 'Parent:Child' when a "
        "name is used twice). A name that finds no category, or several, is a row error.",
    )
    locale = serializers.ChoiceField(choices=sorted(LOCALES), required=False)
    date_format = serializers.CharField(
        max_length=40, required=False, validators=[date_format_check], help_text=DATE_FORMAT_HELP
    )
    decimal = serializers.ChoiceField(choices=[",", "."], required=False)
    delimiter = serializers.ChoiceField(choices=list(DELIMITERS), required=False)
    encoding = serializers.ChoiceField(choices=list(ENCODINGS), required=False)
    header_line = serializers.IntegerField(
        required=False, min_value=0, max_value=PREAMBLE_LINES,
        help_text="The header's line; 0 when the file has none (map columns by position).",
    )  # fmt: skip
    time_zone = serializers.CharField(
        max_length=64, required=False, validators=[time_zone_check],
        help_text="The zone of the file's date-times; the organisation's when omitted.",
    )  # fmt: skip


class ImportUpload(StrictSerializer):
    file = serializers.FileField(
        allow_empty_file=True,
        use_url=False,
        help_text="CSV, XLSX, ODS, OFX, QFX, CAMT, MT940/942 or QIF; at most "
        "KORE_IMPORT_MAX_BYTES (500 MB default).",
    )
    account = IdField(help_text="An account of this organisation.")
    format = serializers.ChoiceField(
        choices=ImportJob.Format.choices, required=False, help_text="Detected when omitted."
    )
    mapping = JSONTextField(
        max_bytes=MAPPING_MAX_BYTES,
        max_depth=MAPPING_MAX_DEPTH,
        required=False,
        help_text="CSV, XLSX and ODS: a JSON object (see MappingInput), at most 16 KB.",
    )
    mode = serializers.ChoiceField(choices=ImportJob.Mode.choices, required=False)
    dry_run = serializers.BooleanField(required=False, default=False)

    def validate_mapping(self, value: Any) -> dict[str, Any]:
        mapping = MappingInput(data=value)
        mapping.is_valid(raise_exception=True)
        return dict(mapping.validated_data)


class ProgressOutput(serializers.Serializer[Any]):
    rows_read = serializers.IntegerField()
    rows_total = serializers.IntegerField(allow_null=True)


class CountsOutput(serializers.Serializer[Any]):
    created = serializers.IntegerField(source="created_count")
    duplicates_skipped = serializers.IntegerField(source="duplicate_count")
    invalid = serializers.IntegerField(source="invalid_count")
    pending = serializers.IntegerField(
        source="pending_count", help_text="Rows the bank marked pending, booked as such."
    )
    replaced = serializers.IntegerField(
        source="replaced_count",
        help_text="Bank-pending transactions a booked row of this file replaced.",
    )
    reverted_skipped = serializers.IntegerField(
        source="reverted_count", help_text="Reverted or cancelled rows, skipped."
    )
    matched = serializers.IntegerField(
        source="matched_count",
        help_text="Rows linked to a transaction entered by hand instead of booked again.",
    )


class RowErrorOutput(serializers.Serializer[Any]):
    line = serializers.IntegerField(
        help_text="CSV line (header = 1), or the row's number in the file (other formats)."
    )
    column = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()
    value = serializers.CharField(
        required=False, help_text="The text the file holds there (first 100 characters)."
    )


class DuplicateOutput(serializers.Serializer[Any]):
    line = serializers.IntegerField()
    transaction = serializers.IntegerField(help_text="The live transaction it matched.")
    reason = serializers.CharField()
    fingerprint = serializers.CharField()
    values = inline_serializer(
        "ImportDuplicateValues",
        {
            "occurred_on": serializers.DateField(),
            "amount": serializers.CharField(),
            "description": serializers.CharField(),
            "counterparty": serializers.CharField(),
            "reference": serializers.CharField(),
        },
    )


class StatementCheckOutput(serializers.Serializer[Any]):
    """A statement of the file with the bank's balances, checked against the account."""

    account_ref = serializers.CharField()
    statement = serializers.IntegerField(help_text="The Kore statement it became.")
    end_date = serializers.DateField(help_text="The date of the bank's closing balance.")
    opening_balance = serializers.CharField(allow_null=True)
    closing_balance = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["reconciled", "open"],
        help_text="reconciled: the account agrees; open: it does not (see difference).",
    )
    difference = serializers.CharField(help_text="Closing balance minus the account's.")
    message = serializers.CharField()


class RoutedOutput(serializers.Serializer[Any]):
    """Another account's statement in the file, imported by its own job into that account."""

    account = serializers.IntegerField()
    account_refs = serializers.ListField(child=serializers.CharField())
    job = serializers.IntegerField(allow_null=True, help_text="Null in a dry run.")


class MatchOutput(serializers.Serializer[Any]):
    line = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=["linked", "choose", "undone"],
        help_text="linked: booked onto ``transaction``; choose: several candidates fit, the row "
        "was booked as a new transaction; undone: the link was undone, the row booked anew.",
    )
    transaction = serializers.IntegerField(allow_null=True)
    candidates = serializers.ListField(child=serializers.IntegerField())
    reason = serializers.CharField()
    values = serializers.DictField(help_text="The row as the file gave it.")


JOB_ERROR_CODES = (
    "import_file_binary, import_file_empty, import_no_rows, import_encoding_error, "
    "import_encoding_unsupported, import_delimiter_unknown, import_line_too_long, "
    "import_too_many_columns, import_csv_malformed, import_mapping_incomplete, "
    "import_mapping_invalid, import_file_malformed, import_xml_forbidden, import_format_unknown, "
    "import_no_statement, import_bank_error, import_investment_statement, import_date_ambiguous, "
    "import_amount_ambiguous, "
    "import_currency_mismatch, import_account_mismatch, import_accounts_unknown, "
    "import_file_too_large, import_file_missing, import_rows_invalid, "
    "import_attempts_exhausted, import_timed_out, import_internal_error, account_archived"
)


class JobErrorOutput(serializers.Serializer[Any]):
    """Why a job failed (status ``failed``); row problems are in ``errors``."""

    code = serializers.CharField(help_text=f"One of: {JOB_ERROR_CODES}.")
    message = serializers.CharField()


class ImportJobSummary(serializers.ModelSerializer[ImportJob]):
    progress = ProgressOutput(source="*")
    counts = CountsOutput(source="*")
    error = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = (
            "id", "account", "status", "format", "mode", "dry_run", "original_name", "size",
            "progress", "counts", "error", "created_at", "updated_at", "finished_at",
        )  # fmt: skip

    @extend_schema_field(JobErrorOutput(allow_null=True))
    def get_error(self, job: ImportJob) -> dict[str, str] | None:
        return {"code": job.error_code, "message": job.error_message} if job.error_code else None


class ImportJobOutput(ImportJobSummary):
    """A job with its report: the first 1,000 row errors and skipped duplicates."""

    errors = RowErrorOutput(many=True)  # type: ignore[assignment]
    duplicates = DuplicateOutput(many=True)
    matches = MatchOutput(many=True)
    mapping = serializers.DictField(help_text="The mapping declared for this import.")
    account_refs = serializers.ListField(
        child=serializers.CharField(),
        help_text="The accounts (IBAN or number) of the file whose rows this import books; "
        "empty: the file names none.",
    )
    routed = RoutedOutput(many=True)
    statements = StatementCheckOutput(many=True)
    transfers_skipped = serializers.ListField(
        child=serializers.DictField(),
        help_text="Rows a rule would have made a transfer leg, booked as they are instead (the "
        "first 1,000): {line, code, message}; e.g. transfer_rate_unknown when "
        "the accounts' currencies differ and the row states no amount in the destination's.",
    )
    preview = serializers.DictField(
        help_text="What Kore understood of the file (format, encoding, delimiter, date_format, "
        "direction, currency, read_with: the reading options and columns) and its first rows "
        "as they are booked (amount signed, in the account's currency; refused rows with their "
        "error). Filled once the file is read: run with dry_run to see it before writing."
    )

    class Meta(ImportJobSummary.Meta):
        fields = (*ImportJobSummary.Meta.fields, "errors", "duplicates", "matches", "mapping",
                  "account_refs", "routed", "statements", "preview",
                  "transfers_skipped")  # type: ignore[assignment]  # fmt: skip


ImportPage = inline_serializer(
    "ImportPage",
    {"results": ImportJobSummary(many=True), "next_cursor": serializers.CharField(allow_null=True)},
)


class ImportJobMixin:
    org: Any

    def get_job(self, job_id: int) -> ImportJob:
        job = import_job_get(organization=self.org.organization, job_id=job_id)
        if job is None:
            raise NotFound()
        return job


class ImportListCreateApi(OrgAPIView):
    """List imports (newest first) or start one (multipart upload → 202)."""

    parser_classes = [MultiPartParser]

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        request.upload_handlers = [ImportUploadHandler(request)]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str, required=False),
            OpenApiParameter("limit", int, required=False, description="1 to 500, default 50."),
        ],
        responses={200: ImportPage},
        tags=["imports"],
        operation_id="orgs_imports_list",
    )
    def get(self, request: Request, org_slug: str) -> Response:
        rows, next_cursor = import_job_page(
            organization=self.org.organization,
            cursor=request.query_params.get("cursor") or None,
            limit=parse_limit(request.query_params.get("limit")),
        )
        return Response(
            {"results": ImportJobSummary(rows, many=True).data, "next_cursor": next_cursor}
        )

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "dry_run", bool, required=False, description="Validate and report; write nothing."
            )
        ],
        request={"multipart/form-data": ImportUpload},
        responses={202: ImportJobOutput},
        tags=["imports"],
    )
    def post(self, request: Request, org_slug: str) -> Response:
        if sum(len(files) for _, files in request.FILES.lists()) > 1:
            raise InvalidRequest(
                "Upload one file per request.",
                fields={"file": [{"code": "invalid", "message": "One file per request."}]},
            )
        data = ImportUpload(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if request.query_params.get("dry_run", "").lower() in ("1", "true", "yes"):
            values["dry_run"] = True
        job = services.import_job_create(ctx=self.org, **values)
        return Response(ImportJobOutput(job).data, status=202)


class KoreExportUpload(StrictSerializer):
    file = serializers.FileField(
        allow_empty_file=True, use_url=False,
        help_text="A CSV file as Kore's transaction export wrote it (every column).",
    )  # fmt: skip


class KoreExportImportApi(OrgAPIView):
    """Import Kore's own CSV export into the organisation, all or nothing: 201 with what was
    written. Split lines, transfers and their rates come back as they were; accounts and
    categories the file names are found by name or created. 422 ``kore_csv_invalid``,
    ``kore_csv_transfer_incomplete``, ``kore_csv_rate_mismatch``, ``kore_csv_category_unclear``
    (fields name the line and column); 409 ``kore_csv_accounts_in_use``."""

    parser_classes = [MultiPartParser]
    write_role = Role.ADMIN  # it opens accounts and creates categories

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        request.upload_handlers = [ImportUploadHandler(request)]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": KoreExportUpload},
        responses={
            201: inline_serializer(
                "KoreExportImported",
                {"transactions": serializers.IntegerField(),
                 "transfers": serializers.IntegerField(),
                 "accounts_created": serializers.ListField(child=serializers.CharField()),
                 "categories_created": serializers.ListField(child=serializers.CharField())},
            )
        },
        tags=["imports"],
    )  # fmt: skip
    def post(self, request: Request, org_slug: str) -> Response:
        data = KoreExportUpload(data=request.data)
        data.is_valid(raise_exception=True)
        done = kore_export_import(ctx=self.org, content=data.validated_data["file"].read())
        return Response(dataclasses.asdict(done), status=201)


class ImportDetailApi(ImportJobMixin, OrgAPIView):
    @extend_schema(responses={200: ImportJobOutput}, tags=["imports"])
    def get(self, request: Request, org_slug: str, job_id: int) -> Response:
        return Response(ImportJobOutput(self.get_job(job_id)).data)


class ImportCancelApi(OrgAPIView):
    """Cancel a queued or running import; 409 ``import_finished`` once it has ended."""

    @extend_schema(request=None, responses={200: ImportJobOutput}, tags=["imports"])
    def post(self, request: Request, org_slug: str, job_id: int) -> Response:
        job = services.import_job_cancel(ctx=self.org, job_id=job_id)
        return Response(ImportJobOutput(job).data)


class ImportPromoteApi(OrgAPIView):
    """Run a finished dry run for real, from the file it checked (no new upload): 202 with the
    new job. 409 ``not_a_dry_run``, ``dry_run_has_errors`` (all_or_nothing with invalid rows),
    ``dry_run_expired`` (already run, or kept past KORE_IMPORT_DRY_RUN_KEEP_HOURS) or
    ``account_archived``."""

    @extend_schema(request=None, responses={202: ImportJobOutput}, tags=["imports"])
    def post(self, request: Request, org_slug: str, job_id: int) -> Response:
        job = services.import_job_promote(ctx=self.org, job_id=job_id)
        return Response(ImportJobOutput(job).data, status=202)


class ImportForceInput(StrictSerializer):
    lines = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=1000
    )


class ImportForceApi(OrgAPIView):
    """Import skipped duplicates anyway (by their line in the job's report)."""

    parser_classes = [StrictJSONParser]

    @extend_schema(
        request=ImportForceInput,
        responses={
            201: inline_serializer(
                "ImportForced",
                {
                    "created": inline_serializer(
                        "ImportForcedRow",
                        {"line": serializers.IntegerField(),
                         "transaction": serializers.IntegerField()},
                        many=True,
                    )
                },
            )
        },
        tags=["imports"],
    )  # fmt: skip
    def post(self, request: Request, org_slug: str, job_id: int) -> Response:
        data = ImportForceInput(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.import_rows_force(
            ctx=self.org, job_id=job_id, lines=data.validated_data["lines"]
        )
        return Response({"created": created}, status=201)


class ImportMatchUndoInput(StrictSerializer):
    line = serializers.IntegerField(min_value=1)


class ImportMatchUndoApi(OrgAPIView):
    """Undo a match: the row the import linked to a transaction entered by hand is booked as a
    new transaction, and the transaction entered by hand is left as it was. 422
    ``import_line_not_matched``; 409 ``import_not_undoable`` or ``import_match_changed``."""

    parser_classes = [StrictJSONParser]

    @extend_schema(
        request=ImportMatchUndoInput,
        responses={
            201: inline_serializer(
                "ImportMatchUndone",
                {"line": serializers.IntegerField(),
                 "transaction": serializers.IntegerField(help_text="The one entered by hand."),
                 "created": serializers.IntegerField(help_text="The row, booked anew.")},
            )
        },
        tags=["imports"],
    )  # fmt: skip
    def post(self, request: Request, org_slug: str, job_id: int) -> Response:
        data = ImportMatchUndoInput(data=request.data)
        data.is_valid(raise_exception=True)
        undone = services.import_match_undo(
            ctx=self.org, job_id=job_id, line=data.validated_data["line"]
        )
        return Response(undone, status=201)


class ImportMatchChooseInput(StrictSerializer):
    line = serializers.IntegerField(min_value=1)
    transaction = IdField(help_text="One of the row's candidates.")


class ImportMatchChooseApi(OrgAPIView):
    """Link a row that had several candidates to the one chosen: the transaction the import
    booked for it is deleted (restorable) and the chosen one gains the bank's provenance. 422
    ``import_line_not_matched`` or ``import_not_a_candidate``; 409 ``import_match_changed``."""

    parser_classes = [StrictJSONParser]

    @extend_schema(
        request=ImportMatchChooseInput,
        responses={
            200: inline_serializer(
                "ImportMatchChosen",
                {"line": serializers.IntegerField(),
                 "transaction": serializers.IntegerField(help_text="The one chosen."),
                 "deleted": serializers.IntegerField(help_text="The row as first booked.")},
            )
        },
        tags=["imports"],
    )  # fmt: skip
    def post(self, request: Request, org_slug: str, job_id: int) -> Response:
        data = ImportMatchChooseInput(data=request.data)
        data.is_valid(raise_exception=True)
        chosen = services.import_match_choose(ctx=self.org, job_id=job_id, **data.validated_data)
        return Response(chosen)
