"""Reads of import jobs, always within one organisation."""

from django.db.models import Q, QuerySet

from kore.core.pagination import cursor_decode, cursor_encode
from kore.orgs.models import Organization

from .models import ImportJob, ImportMapping


def import_job_get(*, organization: Organization, job_id: int) -> ImportJob | None:
    return ImportJob.objects.filter(organization=organization, pk=job_id).first()


def import_job_page(
    *, organization: Organization, cursor: str | None, limit: int
) -> tuple[list[ImportJob], str | None]:
    """Newest first, keyset-paginated."""
    scope = f"imports:{organization.pk}"
    rows: QuerySet[ImportJob] = ImportJob.objects.filter(organization=organization).defer(
        "errors", "duplicates", "matches", "statements", "routed", "preview", "transfers_skipped"
    )
    if cursor:
        created, last_id = cursor_decode(cursor, scope=scope)
        rows = rows.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=last_id))
    page = list(rows.order_by("-created_at", "-id")[: limit + 1])
    next_cursor = None
    if len(page) > limit:
        page = page[:limit]
        next_cursor = cursor_encode([page[-1].created_at.isoformat(), page[-1].pk], scope=scope)
    return page, next_cursor


def import_mapping_get(*, account_id: int) -> dict[str, object]:
    row = ImportMapping.objects.filter(account_id=account_id).first()
    return dict(row.mapping) if row else {}
