"""Audit trail: django-simple-history snapshots, stamped with the request id and API token.

simple-history works the same on PostgreSQL and SQLite and has bulk helpers
(``bulk_create_with_history``/``bulk_update_with_history``) that the services use for batches,
so bulk writes are audited too. Who: the history user (a person, or the creator of the API token)
plus ``api_token_id`` when a token made the change.

Lives in ``kore.core`` because the organisations app (memberships, API token authentication) and
the request middleware use it as well as the ledger.
"""

from contextvars import ContextVar
from typing import Any

from django.db import models
from django.dispatch import receiver
from simple_history.signals import pre_create_historical_record

from .request_id import get_request_id

# Set by ApiTokenAuthentication; RequestIdMiddleware resets it at the start and end of a request.
current_api_token_id: ContextVar[int | None] = ContextVar("current_api_token_id", default=None)


class AuditFields(models.Model):
    """Extra columns on every history table."""

    request_id = models.CharField(max_length=128, blank=True, default="")
    api_token_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        abstract = True


def audit_attrs() -> dict[str, Any]:
    """The same stamp for bulk history rows, which bypass the signal."""
    return {"request_id": get_request_id(), "api_token_id": current_api_token_id.get()}


@receiver(pre_create_historical_record, dispatch_uid="kore.core.audit.stamp")
def _stamp(sender: Any, history_instance: Any, **kwargs: Any) -> None:
    for name, value in audit_attrs().items():
        setattr(history_instance, name, value)
