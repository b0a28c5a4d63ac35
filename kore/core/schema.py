"""OpenAPI additions: the shared Error component and its codes on every operation; who may read
the schema and the docs pages."""

from typing import Any

from django.conf import settings
from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from .exceptions import ERROR_CODES

_COMMON = (400, 401, 403, 404, 429)
_WRITES = {"post", "put", "patch", "delete"}


def _error_schema() -> dict[str, Any]:
    table = "\n".join(
        f"- `{code}` ({status}): {text}" for code, (status, text) in ERROR_CODES.items()
    )
    return {
        "type": "object",
        "description": "Every 4xx/5xx response has this shape. Stable codes:\n\n" + table,
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "fields", "request_id"],
                "properties": {
                    "code": {"type": "string", "enum": list(ERROR_CODES)},
                    "message": {"type": "string"},
                    "fields": {
                        "type": "object",
                        "description": "Field path (dotted) → list of {code, message}.",
                        "additionalProperties": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "code": {"type": "string"},
                                    "message": {"type": "string"},
                                },
                            },
                        },
                    },
                    "request_id": {"type": "string"},
                },
            }
        },
    }


def add_error_components(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = _error_schema()
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            statuses = _COMMON + ((422,) if method in _WRITES else ())
            for status in statuses:
                operation.setdefault("responses", {}).setdefault(
                    str(status), {"description": "Error (see the Error schema).", "content": ref}
                )
    return result


class KoreAutoSchema(AutoSchema):
    """Name nested ``Input``/``Output`` serializers by API: ``MeApi.Input`` is ``MeInput``."""

    def get_serializer_name(self, serializer: Any, direction: Any) -> str:
        cls = serializer.__class__
        if cls.__name__ in ("Input", "Output") and "." in cls.__qualname__:
            owner = cls.__qualname__.rsplit(".", 1)[0].removesuffix("Api")
            return f"{owner}{cls.__name__}"
        return str(super().get_serializer_name(serializer, direction))


class ApiDocsAccess(BasePermission):
    """/api/v1/schema/ and the docs pages: anyone with ``KORE_API_DOCS_PUBLIC`` on (the embedded
    runtime's default), else only a signed-in caller (session, JWT or API token); to anyone else
    they answer 404, as if they did not exist."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user  # None for an anonymous caller (UNAUTHENTICATED_USER)
        if settings.KORE_API_DOCS_PUBLIC or (user is not None and user.is_authenticated):
            return True
        raise Http404
