"""Attachments (receipts, statements): checked by content, stored under a random path.

An upload is judged by its bytes, never by its name or declared type: PDF, PNG, JPEG, WebP and
HEIC by their signatures (``filetype``), CSV as strict UTF-8 or Latin-1 text whose first line has
a delimiter. One pass over the file in 1 MiB chunks gives its SHA-256, its size and the text
check; nothing reads the whole file into memory. The same bytes twice in one organisation are a
409; the file is stored as ``attachments/<org id>/<uuid4 hex>`` in the default storage, which is
never served under a public URL (downloads go through the API).
"""

import codecs
import hashlib
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath

import filetype
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.db.models import Q, QuerySet

from kore.core.exceptions import (
    Conflict,
    InvalidRequest,
    KoreError,
    NotFound,
    RequestTooLarge,
    rule_violation,
)
from kore.core.pagination import cursor_decode, cursor_encode
from kore.orgs.models import Organization
from kore.orgs.scoping import OrgContext

from ..models import Attachment, Transaction

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024
SNIFF_BYTES = 8192  # what filetype looks at
SIGNED_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/webp", "image/heic"})
CSV_TYPE = "text/csv"
# A name's extension must agree with the content: a PDF named "receipt.png" is refused, since
# whatever opens it later goes by the name. Names without an extension are judged by content.
EXTENSIONS = {
    "application/pdf": {".pdf"},
    "image/png": {".png"},
    "image/jpeg": {".jpg", ".jpeg", ".jpe", ".jfif"},
    "image/webp": {".webp"},
    "image/heic": {".heic", ".heif"},
    CSV_TYPE: {".csv", ".txt", ".tsv"},
}
CSV_DELIMITERS = (",", ";", "\t", "|")
NAME_MAX = 255
# C0 controls other than tab, LF and CR; DEL; C1 controls. Text containing any is not CSV.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_BYTES = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class UnsupportedMediaType(KoreError):
    status_code = 415
    code = "unsupported_media_type"
    message = "Attachments are PDF, PNG, JPEG, WebP, HEIC or CSV files (judged by content)."


def too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(f"Attachments are at most {limit} bytes.")


def _duplicate(existing_id: int) -> Conflict:
    message = f"This organisation already holds this file as attachment {existing_id}."
    return Conflict(
        message,
        code="attachment_duplicate",
        fields={"file": [{"code": "attachment_duplicate", "message": message}]},
    )


@dataclass
class _TextCheck:
    """Incremental: is the whole file UTF-8 or Latin-1 text without control characters?"""

    utf8: bool = True
    latin1: bool = True
    _decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")()
    )

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        if self.latin1 and _CONTROL_BYTES.search(chunk):
            self.latin1 = False
        if self.utf8:
            try:
                if _CONTROL.search(self._decoder.decode(chunk, final)):
                    self.utf8 = False
            except UnicodeDecodeError:
                self.utf8 = False

    def is_csv(self, head: bytes) -> bool:
        encoding = "utf-8" if self.utf8 else "latin-1" if self.latin1 else None
        if encoding is None:
            return False
        first_line = head.decode(encoding, errors="ignore").lstrip("\ufeff").split("\n", 1)[0]
        return any(d in first_line for d in CSV_DELIMITERS)


@dataclass(frozen=True)
class Scanned:
    content_type: str
    sha256: str
    size: int


def attachment_scan(file: "File[bytes]", *, limit: int) -> Scanned:
    """Hash, measure and type the file in one chunked pass (415 when it is not allowed)."""
    digest = hashlib.sha256()
    text = _TextCheck()
    head = b""
    size = 0
    for chunk in file.chunks(CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        digest.update(chunk)
        if text.utf8 or text.latin1:
            text.feed(chunk)
    text.feed(b"", final=True)
    kind = filetype.guess(head) if head else None
    if kind is not None and kind.mime in SIGNED_TYPES:
        content_type = str(kind.mime)
    elif kind is None and text.is_csv(head):
        content_type = CSV_TYPE
    else:
        raise UnsupportedMediaType()
    return Scanned(content_type=content_type, sha256=digest.hexdigest(), size=size)


def _clean_name(name: str | None) -> str:
    """The uploaded name, for display and Content-Disposition only: no path, no controls."""
    base = _CONTROL.sub("", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    base = base or "attachment"
    if len(base) > NAME_MAX:
        suffix = PurePath(base).suffix[:16]
        base = base[: NAME_MAX - len(suffix)] + suffix
    return base


def _existing_id(organization: Organization, sha256: str) -> int | None:
    return (
        Attachment.objects.filter(organization=organization, sha256=sha256)
        .values_list("pk", flat=True)
        .first()
    )


def attachment_create(
    *,
    ctx: OrgContext,
    file: "File[bytes]",
    transaction: int | None = None,
) -> Attachment:
    """Store one file for the organisation, optionally linked to one of its transactions."""
    limit = settings.KORE_ATTACHMENT_MAX_BYTES
    if file.size is not None and file.size > limit:
        raise too_large(limit)
    scanned = attachment_scan(file, limit=limit)
    suffix = PurePath(_clean_name(file.name)).suffix.lower()
    if suffix and suffix not in EXTENSIONS[scanned.content_type]:
        raise UnsupportedMediaType(
            f"The file is {scanned.content_type} but its name ends in {suffix!r}; "
            "rename it to match its content."
        )
    if transaction is not None and not (
        Transaction.objects.filter(
            organization=ctx.organization, pk=transaction, deleted_at__isnull=True
        ).exists()
    ):
        raise rule_violation(
            "transaction", "not_found", "No such transaction in this organisation."
        )
    existing = _existing_id(ctx.organization, scanned.sha256)
    if existing is not None:
        raise _duplicate(existing)
    # A TemporaryUploadedFile is moved into place, not copied through memory.
    path = default_storage.save(f"attachments/{ctx.organization.pk}/{uuid.uuid4().hex}", file)
    try:
        with db_transaction.atomic():
            attachment = Attachment.objects.create(
                organization=ctx.organization,
                transaction_id=transaction,
                path=path,
                original_name=_clean_name(file.name),
                content_type=scanned.content_type,
                size=scanned.size,
                sha256=scanned.sha256,
                uploaded_by=ctx.user,
                uploaded_by_token=ctx.api_token,
            )
    except IntegrityError:
        _delete_file(path)
        existing = _existing_id(ctx.organization, scanned.sha256)
        if existing is None:
            raise
        raise _duplicate(existing) from None  # a concurrent upload of the same bytes won
    return attachment


def _delete_file(path: str) -> None:
    try:
        default_storage.delete(path)
    except OSError:
        logger.exception("Could not delete attachment file %s", path)


def attachment_delete(*, ctx: OrgContext, attachment_id: int) -> None:
    """Delete the row; the file goes once that commits (a rollback keeps both)."""
    with db_transaction.atomic():
        attachment = (
            Attachment.objects.select_for_update()
            .filter(organization=ctx.organization, pk=attachment_id)
            .first()
        )
        if attachment is None:
            raise NotFound()
        path = attachment.path
        attachment.delete()
        db_transaction.on_commit(lambda: _delete_file(path))


# --- Reads (kept beside the services: selectors.py belongs to the rest of the ledger) ----------
def attachment_get(*, organization: Organization, attachment_id: int) -> Attachment | None:
    return Attachment.objects.filter(organization=organization, pk=attachment_id).first()


def _cursor_scope(organization: Organization) -> str:
    return f"attachments:{organization.pk}"


def attachment_page(
    *, organization: Organization, transaction: int | None, cursor: str | None, limit: int
) -> tuple[list[Attachment], str | None]:
    """Newest first, keyset-paginated on (created_at, id)."""
    rows: QuerySet[Attachment] = Attachment.objects.filter(organization=organization)
    if transaction is not None:
        rows = rows.filter(transaction_id=transaction)
    if cursor:
        values = cursor_decode(cursor, scope=_cursor_scope(organization))
        try:
            created_at, last_id = datetime.fromisoformat(values[0]), int(values[1])
        except (IndexError, TypeError, ValueError) as exc:
            raise InvalidRequest("The cursor is not valid here.", code="invalid_cursor") from exc
        rows = rows.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=last_id))
    page = list(rows.order_by("-created_at", "-id")[: limit + 1])
    next_cursor = None
    if len(page) > limit:
        page = page[:limit]
        last = page[-1]
        next_cursor = cursor_encode(
            [last.created_at.isoformat(), last.pk], scope=_cursor_scope(organization)
        )
    return page, next_cursor
