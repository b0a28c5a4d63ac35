"""POST /api/v1/orgs/{slug}/imports/{id}/promote/: a finished dry run runs for real from the file
it checked, once; errors, expiry (the reaper), roles and other organisations."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.test import override_settings
from django.utils import timezone

from config.celery_app import app as celery_app
from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.imports.models import ImportJob
from kore.imports.services import import_jobs_reap
from kore.ledger.models import Transaction

from .test_services_import import ctx_for, run


@pytest.fixture(autouse=True)
def in_process(monkeypatch) -> None:
    """The promoted job runs on commit in this process (the embedded runtime's path)."""
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)


def url(world, job: ImportJob) -> str:
    return f"/api/v1/orgs/{world.org.slug}/imports/{job.pk}/promote/"


def live(account):
    return Transaction.objects.filter(account=account, deleted_at__isnull=True)


@pytest.mark.django_db
def test_a_dry_run_runs_for_real_once(world, account, django_capture_on_commit_callbacks):
    dry = run(world, account, "csv_uk_barclays.csv", dry_run=True)
    assert (dry.status, dry.created_count) == ("done", 3)
    assert default_storage.exists(dry.file_path)  # kept for this
    assert not live(account).exists()

    with django_capture_on_commit_callbacks(execute=True):  # the job runs (eager here)
        response = client_for(world.member).post(url(world, dry))
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["dry_run"], body["mode"]) == ("queued", False, dry.mode)
    # (the answer is the job as committed; it ran on commit)
    job = ImportJob.objects.get(pk=body["id"])
    assert (job.account_id, job.format, job.mapping, job.original_name) == (
        dry.account_id, dry.format, dry.mapping, dry.original_name,
    )  # fmt: skip
    assert job.created_by == world.member
    assert job.file_path != dry.file_path
    assert not default_storage.exists(dry.file_path)  # handed over: it runs for real once
    assert (job.status, job.created_count) == ("done", 3)
    assert live(account).count() == 3
    assert not default_storage.exists(job.file_path)

    again = client_for(world.member).post(url(world, dry))
    assert_error(again, 409, "dry_run_expired")
    assert live(account).count() == 3


@pytest.mark.django_db
def test_only_a_finished_dry_run_with_no_invalid_rows_in_all_or_nothing(
    world, account, django_capture_on_commit_callbacks
):
    real = run(world, account, "csv_uk_barclays.csv")
    assert_error(client_for(world.member).post(url(world, real)), 409, "not_a_dry_run")
    bad = run(world, account, "bad_dates.csv", dry_run=True)
    assert bad.status == "failed"  # all_or_nothing: invalid rows fail the dry run
    assert_error(client_for(world.member).post(url(world, bad)), 409, "not_a_dry_run")
    lenient = run(world, account, "bad_dates.csv", dry_run=True, mode="skip_invalid")
    assert (lenient.status, lenient.invalid_count) == ("done", 2)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(world.member).post(url(world, lenient))
    assert response.status_code == 202, response.content
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.created_count, job.invalid_count) == ("done", 1, 2)
    assert ImportJob.objects.filter(dry_run=False).count() == 2  # nothing else was created


@pytest.mark.django_db
def test_the_reaper_lets_an_unpromoted_dry_run_expire(world, account):
    dry = run(world, account, "csv_uk_barclays.csv", dry_run=True)
    recent = run(world, account, "csv_us_chase.csv", dry_run=True)
    ImportJob.objects.filter(pk=dry.pk).update(finished_at=timezone.now() - timedelta(hours=25))
    import_jobs_reap()
    assert not default_storage.exists(dry.file_path)
    assert default_storage.exists(recent.file_path)  # within KORE_IMPORT_DRY_RUN_KEEP_HOURS
    assert_error(client_for(world.member).post(url(world, dry)), 409, "dry_run_expired")
    with override_settings(KORE_IMPORT_DRY_RUN_KEEP_HOURS=0):
        import_jobs_reap()
    assert not default_storage.exists(recent.file_path)


@pytest.mark.django_db
def test_roles_other_orgs_and_archived_accounts(world, account):
    dry = run(world, account, "csv_uk_barclays.csv", dry_run=True)
    assert_error(client_for(world.viewer).post(url(world, dry)), 403, "permission_denied")
    assert client_for(None).post(url(world, dry)).status_code == 401
    assert_other_org_is_404(world.outsider, "post", url(world, dry))
    missing = f"/api/v1/orgs/{world.org.slug}/imports/999999/promote/"
    assert_error(client_for(world.member).post(missing), 404, "not_found")
    assert client_for(world.member).get(url(world, dry)).status_code == 405
    account.archived = True
    account.save(update_fields=["archived"])
    assert_error(client_for(world.member).post(url(world, dry)), 409, "account_archived")
    assert default_storage.exists(dry.file_path)  # refused: nothing handed over
    assert ImportJob.objects.filter(organization=world.org).count() == 1
    assert ctx_for(world).organization == world.org
