"""Export endpoints: ``GET /api/v1/orgs/{slug}/transactions/export/?format=csv|xlsx`` with the
list's filters, and the XLSX jobs behind ``…/exports/{id}/`` and ``…/exports/{id}/download/``."""

from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import Conflict, NotFound, RuleViolation
from kore.ledger import transaction_list as tl
from kore.ledger.apis import query_schema
from kore.orgs.scoping import OrgAPIView

from . import selectors, services
from .models import ExportJob

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


FORMATS = ("csv", "xlsx")
# The transaction list's filters and ordering, and the file format (for the schema).
ExportQuery = query_schema(
    "ExportQuery",
    paged=False,
    format=serializers.ChoiceField(choices=list(FORMATS), default="csv", required=False),
)


class FileNegotiationMixin:
    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        # ``?format=`` names the file format, not a renderer; errors still leave as JSON.
        parent: Any = super()
        chosen: tuple[BaseRenderer, str] = parent.perform_content_negotiation(request, force=True)
        return chosen


JOB_ERROR_CODES = "export_attempts_exhausted, export_timed_out, export_internal_error"


class ExportJobErrorOutput(serializers.Serializer[Any]):
    code = serializers.CharField(help_text=f"One of: {JOB_ERROR_CODES}.")
    message = serializers.CharField()


class ExportJobOutput(serializers.ModelSerializer[ExportJob]):
    error = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text="This job's status.")
    download_url = serializers.SerializerMethodField(help_text="The file, once status is done.")

    class Meta:
        model = ExportJob
        fields = (
            "id", "status", "format", "filename", "filters", "ordering", "rows_total",
            "rows_written", "error", "url", "download_url", "created_at", "updated_at",
            "finished_at",
        )  # fmt: skip

    @extend_schema_field(ExportJobErrorOutput(allow_null=True))
    def get_error(self, job: ExportJob) -> dict[str, str] | None:
        return {"code": job.error_code, "message": job.error_message} if job.error_code else None

    def _url(self, name: str, job: ExportJob) -> str:
        kwargs = {"org_slug": job.organization.slug, "job_id": job.pk}
        path = reverse(f"exports:{name}", kwargs=kwargs)
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def get_url(self, job: ExportJob) -> str:
        return self._url("export-detail", job)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_download_url(self, job: ExportJob) -> str | None:
        return self._url("export-download", job) if job.status == ExportJob.Status.DONE else None


class TransactionExportApi(FileNegotiationMixin, OrgAPIView):
    """The filtered transactions as a file. CSV streams at once whatever the size; XLSX up to
    ``KORE_EXPORT_SYNC_LIMIT`` rows comes in the response, above it a 202 with a job to poll."""

    @extend_schema(
        parameters=[ExportQuery],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="CSV, streamed."),
            (200, XLSX_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="The workbook."),
            (202, "application/json"): OpenApiResponse(
                ExportJobOutput, description="XLSX above KORE_EXPORT_SYNC_LIMIT rows: a job."
            ),
        },
        tags=["exports"],
        operation_id="orgs_transactions_export",
    )
    def get(self, request: Request, org_slug: str) -> HttpResponseBase:
        query = tl.parse_query(request.query_params, also=("format",), paged=False)
        fmt = request.query_params.get("format") or "csv"
        if fmt not in FORMATS:
            raise RuleViolation(
                "format is csv or xlsx.",
                fields={"format": [{"code": "invalid_choice", "message": "csv or xlsx."}]},
            )
        organization, filters, ordering = self.org.organization, query.filters, query.ordering
        response: HttpResponseBase
        if fmt == "csv":
            response = StreamingHttpResponse(
                services.csv_stream(organization=organization, filters=filters, ordering=ordering),
                content_type="text/csv; charset=utf-8",
            )
            name = services.filename_for(organization, "csv")
        else:
            limit = settings.KORE_EXPORT_SYNC_LIMIT
            count = tl.count(organization=organization, filters=filters, at_most=limit + 1)
            if count > limit:
                job = services.export_job_create(ctx=self.org, filters=filters, ordering=ordering)
                body = ExportJobOutput(job, context={"request": request}).data
                return Response(body, status=202)
            handle = services.xlsx_file(
                organization=organization, filters=filters, ordering=ordering
            )
            response = FileResponse(handle, content_type=XLSX_TYPE)
            name = services.filename_for(organization, "xlsx")
        response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class ExportJobMixin:
    org: Any

    def get_job(self, job_id: int) -> ExportJob:
        job = selectors.export_job_get(organization=self.org.organization, job_id=job_id)
        if job is None:
            raise NotFound()
        return job


class ExportDetailApi(ExportJobMixin, OrgAPIView):
    @extend_schema(responses={200: ExportJobOutput}, tags=["exports"])
    def get(self, request: Request, org_slug: str, job_id: int) -> Response:
        return Response(ExportJobOutput(self.get_job(job_id), context={"request": request}).data)


class ExportDownloadApi(FileNegotiationMixin, ExportJobMixin, OrgAPIView):
    """The finished workbook; 409 ``export_not_ready`` before the job is done."""

    @extend_schema(
        responses={(200, XLSX_TYPE): OpenApiResponse(OpenApiTypes.BINARY)}, tags=["exports"]
    )
    def get(self, request: Request, org_slug: str, job_id: int) -> HttpResponseBase:
        job = self.get_job(job_id)
        if job.status != ExportJob.Status.DONE:
            raise Conflict(f"The export is {job.status}, not done.", code="export_not_ready")
        try:
            handle = default_storage.open(job.file_path, "rb")
        except FileNotFoundError:
            raise NotFound("The export's file is missing.") from None
        response = FileResponse(handle, content_type=XLSX_TYPE)
        response["Content-Disposition"] = (
            content_disposition_header(True, job.filename) or "attachment"
        )
        response["Cache-Control"] = "private, no-store"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["X-Content-Type-Options"] = "nosniff"
        return response
