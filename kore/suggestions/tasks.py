"""Training in the worker: on a schedule (beat: ``kore.suggestions.train_due``) for every
organisation whose ledger changed since its model was trained, and after large imports."""

from celery import shared_task
from django.db.models import F, OuterRef, Q, Subquery

from kore.ledger.models import LedgerState
from kore.orgs.models import Organization

from .models import SuggestionModel
from .services import suggestion_model_train


@shared_task(name="kore.suggestions.train_organization")
def train_organization(organization_id: int) -> bool:
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return False
    return suggestion_model_train(organization=organization)


@shared_task(name="kore.suggestions.train_due")
def train_due() -> int:
    """Send one training per organisation whose ledger moved since its model was trained."""
    trained_at = SuggestionModel.objects.filter(organization_id=OuterRef("organization_id"))
    due = (
        LedgerState.objects.annotate(seen=Subquery(trained_at.values("ledger_version")[:1]))
        .filter(Q(seen__isnull=True) | ~Q(seen=F("version")))
        .values_list("organization_id", flat=True)
    )
    count = 0
    for organization_id in due.iterator():
        train_organization.delay(organization_id)
        count += 1
    return count
