"""``Idempotency-Key`` for POST: a retry gets the first response instead of a second write.

The request runs in one database transaction together with the stored response, so a crash
loses both or keeps both. While it runs, a PostgreSQL advisory lock on (scope, key) makes a
concurrent retry a 409 ``idempotency_in_progress`` instead of a second execution. Keys are
scoped to organisation and caller; the same key with another body is a 422
``idempotency_key_reused``. Only successful (2xx) responses are kept; an error is not, so a
corrected retry with the same key may succeed.
"""

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from .exceptions import Conflict, InvalidRequest, KoreError, RuleViolation
from .models import IdempotencyKey

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255


class Replay(KoreError):
    """Carries a stored response back out of ``initial()``."""

    def __init__(self, stored: IdempotencyKey) -> None:
        super().__init__()
        self.stored = stored


def _file_digest(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return f"{upload.name}:{upload.size}:{digest.hexdigest()}"


def _request_hash(request: Request) -> str:
    """The method, path and body; an uploaded file counts by its bytes, not just its name."""
    data: Any = request.data
    if hasattr(data, "lists"):  # multipart: a QueryDict of fields and files
        data = {
            key: [_file_digest(v) if isinstance(v, UploadedFile) else v for v in values]
            for key, values in data.lists()
        }
    body = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _lock(scope: str, key: str) -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite (embedded) has one writer at a time anyway
    digest = hashlib.sha256(f"{scope}\n{key}".encode()).digest()
    lock_id = int.from_bytes(digest[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_id])
        return bool(cursor.fetchone()[0])


class IdempotentPostMixin:
    """Mix into an APIView before it (``class X(IdempotentPostMixin, APIView)``)."""

    _idempotency: tuple[str, str, str] | None = None

    def idempotency_scope(self, request: Request) -> str:
        token = (
            getattr(request.auth, "pk", None)
            if getattr(request.auth, "is_api_token", False)
            else None
        )
        return f"{getattr(request.user, 'pk', '-')}:{token or '-'}"

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method == "POST" and request.headers.get(HEADER):
            with transaction.atomic():
                return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        key = request.headers.get(HEADER) if request.method == "POST" else None
        if not key:
            return
        if len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise InvalidRequest(
                f"{HEADER} is at most {MAX_KEY_LENGTH} printable characters.",
                code="invalid_idempotency_key",
            )
        scope = self.idempotency_scope(request)
        if not _lock(scope, key):
            raise Conflict(
                "A request with this Idempotency-Key is still running; retry shortly.",
                code="idempotency_in_progress",
            )
        digest = _request_hash(request)
        stored = IdempotencyKey.objects.filter(
            scope=scope, key=key, expires_at__gt=timezone.now()
        ).first()
        if stored is not None:
            if stored.request_hash != digest:
                raise RuleViolation(
                    "This Idempotency-Key was used with a different request.",
                    code="idempotency_key_reused",
                )
            raise Replay(stored)
        self._idempotency = (scope, key, digest)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, Replay):
            stored = exc.stored
            response = Response(stored.response_body, status=stored.response_status)
            for name, value in stored.response_headers.items():
                response[name] = value
            response["Idempotent-Replayed"] = "true"
            return response
        return super().handle_exception(exc)  # type: ignore[misc,no-any-return]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        if self._idempotency and 200 <= response.status_code < 300:
            scope, key, digest = self._idempotency
            headers = {h: response[h] for h in ("ETag", "Location") if response.has_header(h)}
            IdempotencyKey.objects.filter(scope=scope, key=key).delete()  # an expired one
            IdempotencyKey.objects.create(
                scope=scope,
                key=key,
                request_hash=digest,
                response_status=response.status_code,
                response_body=response.data,
                response_headers=headers,
                expires_at=timezone.now() + TTL,
            )
        return response


def idempotency_keys_purge() -> int:
    """Delete keys past their 24 h; run on a schedule."""
    return int(IdempotencyKey.objects.filter(expires_at__lte=timezone.now()).delete()[0])
