"""Imports through a REAL Celery worker process, and once through the embedded (eager) path."""

import datetime
import time

import pytest
from django.core.files.storage import default_storage

from config.celery_app import app as celery_app
from kore.core.testing import client_for, wait_until
from kore.imports.models import ImportJob
from kore.imports.services import import_job_create, import_job_run, import_jobs_reap
from kore.ledger.models import Transaction
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext

from .conftest import upload, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def post(world, account, name, data=None, **fields):
    body = {"file": upload(name, data), "account": account.pk, **fields}
    response = client_for(world.member).post(
        f"/api/v1/orgs/{world.org.slug}/imports/", body, format="multipart"
    )
    assert response.status_code == 202, response.content
    return response.json()["id"]


def big_csv(rows: int) -> bytes:
    lines = (f"2024-{1 + i % 12:02d}-{1 + i % 28:02d},Row {i},-{i % 997}.{i % 100:02d}\n"
             for i in range(rows))  # fmt: skip
    return ("Date,Description,Amount\n" + "".join(lines)).encode()


def test_worker_imports_an_upload_end_to_end(celery_worker, world, account):
    job = wait_for(post(world, account, "camt053.xml"))
    assert (job.status, job.created_count) == ("done", 3)
    body = client_for(world.viewer).get(f"/api/v1/orgs/{world.org.slug}/imports/{job.pk}/").json()
    assert body["progress"] == {"rows_read": 3, "rows_total": 3}


def test_worker_reports_a_bad_file_and_keeps_running(celery_worker, world, account):
    bad = wait_for(post(world, account, "xml_bomb.xml"))
    good = wait_for(post(world, account, "statement.ofx"))
    assert (bad.status, bad.error_code) == ("failed", "import_xml_forbidden")
    assert (good.status, good.created_count) == ("done", 3)


def test_two_imports_of_one_file_at_once_do_not_double_it(celery_worker, world, account):
    rows, data = 20_000, big_csv(20_000)
    in_worker = post(world, account, "a.csv", data)
    wait_for(in_worker, statuses=("running", "done"))
    here = import_job_create(
        ctx=OrgContext(world.org, Role.OWNER, world.owner, None),
        file=upload("a.csv", data),
        account=account.pk,
        enqueue=False,
    )
    import_job_run(job_id=here.pk)  # in this process, while the worker writes the same rows
    jobs = [wait_for(in_worker), ImportJob.objects.get(pk=here.pk)]
    assert sum(j.created_count for j in jobs) == rows
    assert sum(j.duplicate_count for j in jobs) == rows
    assert Transaction.objects.filter(account=account).count() == rows


def test_sigkill_mid_import_then_reaper_ends_with_every_row_once(celery_worker, world, account):
    rows = 50_000
    job_id = post(world, account, "big.csv", big_csv(rows))
    wait_until(
        lambda: ImportJob.objects.get(pk=job_id).cursor >= 5000,
        timeout=60,
        what="the import to get going",
    )
    celery_worker.kill9()
    job = ImportJob.objects.get(pk=job_id)
    assert job.status == "running"
    assert 0 < job.cursor < rows + 1
    written = Transaction.objects.filter(import_job_id=job_id).count()
    assert written == job.created_count  # rows and cursor committed together
    celery_worker.start()
    assert import_jobs_reap(stale_after=datetime.timedelta(0)) == [job_id]
    job = wait_for(job_id, timeout=90)
    assert (job.status, job.created_count, job.attempts) == ("done", rows, 2)
    fingerprints = Transaction.objects.filter(account=account).values_list("fingerprint", flat=True)
    assert len(fingerprints) == rows == len(set(fingerprints))
    lines = Transaction.objects.filter(account=account).values_list("import_line", flat=True)
    assert sorted(lines) == list(range(2, rows + 2))


def test_broker_down_during_post_then_reaper_finishes_it(
    celery_worker, world, account, monkeypatch
):
    from kore.imports import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.run_import, "delay", broker_down)
    job_id = post(world, account, "statement.ofx")
    time.sleep(0.5)
    assert ImportJob.objects.get(pk=job_id).status == "queued"
    monkeypatch.undo()
    assert import_jobs_reap(stale_after=datetime.timedelta(0)) == [job_id]
    assert wait_for(job_id).status == "done"


def test_embedded_runtime_runs_the_import_in_process(world, account, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    job = ImportJob.objects.get(pk=post(world, account, "csv_de_sparkasse.csv"))
    assert (job.status, job.created_count) == ("done", 4)  # done before the 202 returned


def test_cancelling_a_running_import_stops_it(celery_worker, world, account):
    job_id = post(world, account, "big.csv", big_csv(20_000))
    wait_for(job_id, statuses=("running",))
    url = f"/api/v1/orgs/{world.org.slug}/imports/{job_id}/cancel/"
    assert client_for(world.member).post(url).status_code == 200
    path = ImportJob.objects.get(pk=job_id).file_path
    # The worker stops at its next chunk and then deletes the file: wait for that, not a nap.
    wait_until(
        lambda: not default_storage.exists(path),
        timeout=60,
        what="the worker to notice the cancel and drop the file",
    )
    job = ImportJob.objects.get(pk=job_id)
    assert job.status == "cancelled"
    assert Transaction.objects.filter(import_job_id=job_id).count() == job.created_count < 20_000
