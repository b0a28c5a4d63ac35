"""One job lifecycle for imports and exports (kore.core.jobs): a job whose worker died between
its claim and its first heartbeat is reaped by either reaper and finished by a real worker."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from kore.core.testing import client_for, wait_until
from kore.exports.models import ExportJob
from kore.exports.services import export_jobs_reap
from kore.imports.models import ImportJob
from kore.imports.services import import_job_create, import_jobs_reap
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext

from .conftest import upload, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def silent(model, pk: int) -> None:
    """Claimed by a worker that died before its first heartbeat, an hour ago."""
    model.objects.filter(pk=pk).update(
        status="running", claim=uuid.uuid4(), attempts=1, heartbeat_at=None,
        updated_at=timezone.now() - timedelta(hours=1),
    )  # fmt: skip


def test_a_job_without_a_heartbeat_is_reaped_by_both_reapers(celery_worker, world, account):
    ctx = OrgContext(world.org, Role.MEMBER, world.member, None)
    imported = import_job_create(ctx=ctx, file=upload("statement.ofx"), account=account.pk,
                                 enqueue=False)  # fmt: skip
    exported = ExportJob.objects.create(
        organization=world.org, created_by=world.member, filename="all.xlsx"
    )
    silent(ImportJob, imported.pk)
    silent(ExportJob, exported.pk)

    assert import_jobs_reap() == [imported.pk]
    assert export_jobs_reap()["requeued"] == [exported.pk]

    job = wait_for(imported.pk)
    assert (job.status, job.created_count, job.attempts) == ("done", 3, 2)
    body = (
        client_for(world.viewer).get(f"/api/v1/orgs/{world.org.slug}/imports/{imported.pk}/").json()
    )
    assert body["counts"]["created"] == 3
    done = wait_until(
        lambda: ExportJob.objects.filter(pk=exported.pk, status="done").first(),
        timeout=60, what="the export to finish",
    )  # fmt: skip
    assert done.attempts == 2


def test_a_job_out_of_attempts_is_failed_by_the_reaper(world, account, settings):
    ctx = OrgContext(world.org, Role.MEMBER, world.member, None)
    imported = import_job_create(ctx=ctx, file=upload("statement.ofx"), account=account.pk,
                                 enqueue=False)  # fmt: skip
    silent(ImportJob, imported.pk)
    ImportJob.objects.filter(pk=imported.pk).update(attempts=ImportJob.MAX_ATTEMPTS)
    assert import_jobs_reap() == []
    body = (
        client_for(world.viewer).get(f"/api/v1/orgs/{world.org.slug}/imports/{imported.pk}/").json()
    )
    assert (body["status"], body["error"]["code"]) == ("failed", "import_attempts_exhausted")
