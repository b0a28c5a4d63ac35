"""What Kore sends: the invitation, the import result and a ready export, through the real SMTP
server."""

from pathlib import Path

import pytest

from kore.core.testing import client_for
from kore.exports.models import ExportJob
from kore.imports.models import ImportJob
from kore.ledger.tests.factories import AccountFactory

from .conftest import parts

IMPORT_FIXTURES = Path(__file__).resolve().parents[2] / "imports" / "tests" / "fixtures"


@pytest.mark.django_db
def test_an_invitation_emails_the_accept_link(
    world, smtp_server, django_capture_on_commit_callbacks
):
    url = f"/api/v1/orgs/{world.org.slug}/invitations/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(world.admin).post(
            url, {"email": "New@Example.test", "role": "member"}
        )
    assert response.status_code == 201, response.content
    accept_url = response.json()["accept_url"]
    assert accept_url.startswith("https://kore.test/invitations/accept/?token=")
    (envelope,) = smtp_server.envelopes
    assert envelope.rcpt_tos == ["new@example.test"]
    (message,) = smtp_server.messages
    assert message["Subject"] == f"You are invited to {world.org.name} on Kore"
    text, html = parts(message)
    assert accept_url in text
    assert f'href="{accept_url}"' in html
    assert world.org.name in text
    assert "as member" in text


@pytest.mark.django_db
def test_no_invitation_email_when_the_invitation_is_refused(
    world, smtp_server, django_capture_on_commit_callbacks
):
    url = f"/api/v1/orgs/{world.org.slug}/invitations/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(world.member).post(url, {"email": "x@example.test"})
    assert response.status_code == 403
    assert smtp_server.envelopes == []


def _import(world, name: str, data: bytes | None = None) -> ImportJob:
    from django.core.files.uploadedfile import SimpleUploadedFile

    account = AccountFactory(organization=world.org, currency="EUR", name="Giro")
    body = {"file": SimpleUploadedFile(name, data or (IMPORT_FIXTURES / name).read_bytes()),
            "account": account.pk}  # fmt: skip
    response = client_for(world.member).post(
        f"/api/v1/orgs/{world.org.slug}/imports/", body, format="multipart"
    )
    assert response.status_code == 202, response.content
    return ImportJob.objects.get(pk=response.json()["id"])


@pytest.mark.django_db(transaction=True)
def test_a_finished_import_emails_its_creator(world, smtp_server):
    job = _import(world, "csv_de_sparkasse.csv")  # eager: done before the 202
    assert job.status == "done"
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == world.member.email
    assert message["Subject"] == "Import of csv_de_sparkasse.csv finished"
    text, html = parts(message)
    assert "Transactions created: 4" in text
    assert f"https://kore.test/o/{world.org.slug}/imports/{job.pk}/" in text
    assert "Giro" in html


@pytest.mark.django_db(transaction=True)
def test_a_failed_import_emails_its_creator_with_the_reason(world, smtp_server):
    job = _import(world, "empty.csv", b"Date,Description,Amount\n")
    assert job.status == "failed", job.status
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == world.member.email
    assert message["Subject"] == "Import of empty.csv failed"
    text, _ = parts(message)
    assert job.error_message in text
    assert job.error_code in text


@pytest.mark.django_db(transaction=True)
def test_a_finished_export_job_emails_its_creator_the_download_link(
    world, smtp_server, settings, tmp_path
):
    from kore.exports.tests.conftest import record

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.KORE_EXPORT_SYNC_LIMIT = 2
    account = AccountFactory(organization=world.org, currency="EUR", name="Giro")
    record(world, account, [{"description": f"row {i}"} for i in range(3)])
    response = client_for(world.member).get(
        f"/api/v1/orgs/{world.org.slug}/transactions/export/?format=xlsx"
    )
    assert response.status_code == 202, response.content  # above the limit: a job
    job = ExportJob.objects.get(pk=response.json()["id"])
    assert job.status == "done"  # eager: done before the 202
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == world.member.email
    assert message["Subject"] == f"Your export {job.filename} is ready"
    download_url = f"https://kore.test/api/v1/orgs/{world.org.slug}/exports/{job.pk}/download/"
    text, html = parts(message)
    assert download_url in text
    assert f'href="{download_url}"' in html
    assert "Rows written: 3" in text
    assert world.org.name in html
    # The link is the API's: it serves the file to a member of the organisation.
    download = client_for(world.viewer).get(download_url.removeprefix("https://kore.test"))
    assert download.status_code == 200


@pytest.mark.django_db
def test_no_export_email_while_the_job_is_not_done(
    world, smtp_server, django_capture_on_commit_callbacks
):
    from kore.notifications.services import export_job_email_enqueue

    job = ExportJob.objects.create(
        organization=world.org, created_by=world.member, filename="x.xlsx"
    )
    with django_capture_on_commit_callbacks(execute=True):
        export_job_email_enqueue(job_id=job.pk)
    assert smtp_server.envelopes == []
