"""Attachment endpoints under /api/v1/orgs/{slug}/attachments/.

Uploads are multipart (field ``file``, optional ``transaction``). They stream to a temporary file
through ``AttachmentUploadHandler``, which refuses an oversized body by its Content-Length before
reading and stops one that outgrows the limit while streaming. Files are only reachable through
``…/download/``: streamed by Django, or handed to Nginx with ``X-Accel-Redirect`` when
``KORE_ACCEL_REDIRECT`` is on (Nginx then needs an ``internal`` ``/media/`` location). With
``MEDIA_STORAGE=s3`` the answer is a redirect to a short-lived presigned URL (or, with
``KORE_MEDIA_S3_REDIRECT`` off, the object streamed through Django); the check comes first.
"""

import logging
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import InvalidRequest, NotFound
from kore.core.fields import IdField, id_query_param
from kore.core.pagination import parse_limit
from kore.core.serializers import StrictSerializer
from kore.core.uploads import SizeLimitedUploadHandler
from kore.orgs.scoping import OrgAPIView

from ..models import Attachment
from ..services import attachments
from ..services.attachments import too_large

logger = logging.getLogger(__name__)

ACCEL_PREFIX = "/media/"  # Nginx: location /media/ { internal; alias <MEDIA_ROOT>/; }
# Room for the multipart framing around the file (boundaries, part headers, the transaction id).


class AttachmentUploadHandler(SizeLimitedUploadHandler):
    limit_setting = "KORE_ATTACHMENT_MAX_BYTES"
    too_large = staticmethod(too_large)


class AttachmentOutput(serializers.ModelSerializer[Attachment]):
    """An attachment's metadata; the file itself is at ``…/download/``."""

    class Meta:
        model = Attachment
        fields = (
            "id", "transaction", "original_name", "content_type", "size", "sha256",
            "uploaded_by", "created_at",
        )  # fmt: skip


class AttachmentUpload(StrictSerializer):
    """One file (multipart field ``file``), optionally linked to a transaction."""

    file = serializers.FileField(
        allow_empty_file=False,
        use_url=False,
        help_text="PDF, PNG, JPEG, WebP, HEIC or CSV, judged by content; at most "
        "KORE_ATTACHMENT_MAX_BYTES (50 MB by default).",
    )
    transaction = IdField(
        required=False, allow_null=True, help_text="A transaction of this organisation."
    )


AttachmentPage = inline_serializer(
    "AttachmentPage",
    {
        "results": AttachmentOutput(many=True),
        "next_cursor": serializers.CharField(allow_null=True),
    },
)


def _transaction_param(request: Request) -> int | None:
    return id_query_param(request.query_params, "transaction")


class AttachmentDetailMixin:
    org: Any

    def get_attachment(self, attachment_id: int) -> Attachment:
        found = attachments.attachment_get(
            organization=self.org.organization, attachment_id=attachment_id
        )
        if found is None:
            raise NotFound()
        return found


class AttachmentListCreateApi(OrgAPIView):
    """List attachments (newest first) or upload one (multipart)."""

    parser_classes = [MultiPartParser]

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        # Before anything parses the body: only the size-checking, disk-backed handler.
        request.upload_handlers = [AttachmentUploadHandler(request)]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        parameters=[
            OpenApiParameter("transaction", int, required=False, description="Only this one's."),
            OpenApiParameter("cursor", str, required=False),
            OpenApiParameter("limit", int, required=False, description="1 to 500, default 50."),
        ],
        responses={200: AttachmentPage},
        tags=["attachments"],
        operation_id="orgs_attachments_list",
    )
    def get(self, request: Request, org_slug: str) -> Response:
        limit = parse_limit(request.query_params.get("limit"))
        rows, next_cursor = attachments.attachment_page(
            organization=self.org.organization,
            transaction=_transaction_param(request),
            cursor=request.query_params.get("cursor") or None,
            limit=limit,
        )
        return Response(
            {"results": AttachmentOutput(rows, many=True).data, "next_cursor": next_cursor}
        )

    @extend_schema(
        request={"multipart/form-data": AttachmentUpload},
        responses={201: AttachmentOutput},
        tags=["attachments"],
    )
    def post(self, request: Request, org_slug: str) -> Response:
        if sum(len(files) for _, files in request.FILES.lists()) > 1:
            raise InvalidRequest(
                "Upload one file per request.",
                fields={"file": [{"code": "invalid", "message": "One file per request."}]},
            )
        data = AttachmentUpload(data=request.data)
        data.is_valid(raise_exception=True)
        attachment = attachments.attachment_create(ctx=self.org, **data.validated_data)
        return Response(AttachmentOutput(attachment).data, status=201)


class AttachmentDetailApi(AttachmentDetailMixin, OrgAPIView):
    @extend_schema(responses={200: AttachmentOutput}, tags=["attachments"])
    def get(self, request: Request, org_slug: str, attachment_id: int) -> Response:
        return Response(AttachmentOutput(self.get_attachment(attachment_id)).data)

    @extend_schema(responses={204: None}, tags=["attachments"])
    def delete(self, request: Request, org_slug: str, attachment_id: int) -> Response:
        attachments.attachment_delete(ctx=self.org, attachment_id=attachment_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AttachmentDownloadApi(AttachmentDetailMixin, OrgAPIView):
    """The file itself, as an attachment (never rendered inline)."""

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        # Any Accept works for the file; errors still leave as JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        responses={
            (200, "*/*"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The file, with its detected Content-Type. With X-Accel-Redirect "
                "on, an empty body and the X-Accel-Redirect header for Nginx.",
            )
        },
        tags=["attachments"],
    )
    def get(self, request: Request, org_slug: str, attachment_id: int) -> HttpResponseBase:
        attachment = self.get_attachment(attachment_id)
        response: HttpResponseBase
        disposition = content_disposition_header(True, attachment.original_name) or "attachment"
        if settings.MEDIA_STORAGE == "s3" and settings.KORE_MEDIA_S3_REDIRECT:
            # The bucket is private: after the check above, a URL signed for this one object,
            # valid KORE_MEDIA_S3_URL_SECONDS, that makes S3 send the same safe headers.
            s3_storage: Any = default_storage  # S3Storage.url takes parameters and expire
            signed = s3_storage.url(
                attachment.path,
                parameters={
                    "ResponseContentType": attachment.content_type,
                    "ResponseContentDisposition": disposition,
                    "ResponseCacheControl": "private, no-store",
                },
                expire=settings.KORE_MEDIA_S3_URL_SECONDS,
            )
            response = HttpResponseRedirect(signed)
            response["Cache-Control"] = "private, no-store"
            return response
        if settings.KORE_ACCEL_REDIRECT and settings.MEDIA_STORAGE == "filesystem":
            response = HttpResponse(content_type=attachment.content_type)
            response["X-Accel-Redirect"] = f"{ACCEL_PREFIX}{attachment.path}"
        else:
            try:
                handle = default_storage.open(attachment.path, "rb")
            except FileNotFoundError:
                logger.error("Attachment %s has no file at %s", attachment.pk, attachment.path)
                raise NotFound("The attachment's file is missing.") from None
            response = FileResponse(handle, content_type=attachment.content_type)
        response["Content-Disposition"] = disposition
        response["Cache-Control"] = "private, no-store"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["X-Content-Type-Options"] = "nosniff"
        return response
