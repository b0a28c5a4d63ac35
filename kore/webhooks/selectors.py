"""Reads of webhook endpoints and deliveries, always within one organisation."""

from django.db.models import QuerySet

from kore.orgs.models import Organization

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoint_list(*, organization: Organization) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(organization=organization).order_by("id")


def endpoint_get(*, organization: Organization, endpoint_id: int) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(organization=organization, pk=endpoint_id).first()


def delivery_page(
    *, endpoint: WebhookEndpoint, before: int | None, limit: int
) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """Newest first, ``limit + 1`` rows (the caller checks for more), each with its attempts
    (newest first): two queries whatever the page size."""
    qs = WebhookDelivery.objects.filter(endpoint=endpoint)
    if before is not None:
        qs = qs.filter(pk__lt=before)
    rows = list(qs.order_by("-id")[: limit + 1])
    attempts: dict[int, list[WebhookAttempt]] = {}
    for attempt in WebhookAttempt.objects.filter(delivery__in=[r.pk for r in rows]).order_by("-id"):
        attempts.setdefault(attempt.delivery_id, []).append(attempt)
    return [(row, attempts.get(row.pk, [])) for row in rows]
