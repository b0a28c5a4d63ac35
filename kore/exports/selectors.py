"""Reads for exports (the rows themselves come from ``kore.ledger.transaction_list.chunks``)."""

from kore.orgs.models import Organization

from .models import ExportJob


def export_job_get(*, organization: Organization, job_id: int) -> ExportJob | None:
    return ExportJob.objects.filter(organization=organization, pk=job_id).first()
