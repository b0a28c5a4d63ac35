import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from config.celery_app import app as celery_app
from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.exports import services
from kore.exports.models import ExportJob

from .conftest import record

pytestmark = pytest.mark.django_db
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def url(world, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"format": "xlsx", **params}.items())
    return f"/api/v1/orgs/{world.org.slug}/transactions/export/?{query}"


def workbook(content: bytes):
    return load_workbook(io.BytesIO(content), read_only=True)


def test_xlsx_opens_with_numbers_dates_and_neutralised_text(world, account, category):
    first, second = record(world, account, [
        {"occurred_on": date(2025, 3, 1), "amount": Decimal("-12.5"), "description": "=1+1",
         "category": category.pk, "tags": ["t"], "notes": "a\x01b"},
        {"occurred_on": date(2025, 4, 1), "amount": Decimal("1000"), "description": "Ünïcode"},
    ])  # fmt: skip
    response = client_for(world.viewer).get(url(world))
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert ".xlsx" in response["Content-Disposition"]
    book = workbook(b"".join(response.streaming_content))
    rows = list(book["Transactions"].values)
    assert list(rows[0]) == list(services.COLUMNS)
    assert rows[1][0] == second
    assert rows[1][5] == "Ünïcode"
    row = rows[2]
    assert row[0] == first
    assert isinstance(row[1], datetime)  # a real date cell
    assert row[1].date() == date(2025, 3, 1)
    assert row[3] == -12.5
    assert isinstance(row[3], float)
    assert row[5] == "'=1+1"  # never a formula
    assert row[7] == "Food"
    assert row[8] == "t"
    assert row[10] == "ab"


def test_xlsx_splits_into_sheets(world, account, monkeypatch):
    record(world, account, [{"amount": Decimal(i)} for i in range(7)])
    monkeypatch.setattr(services, "SHEET_ROWS", 3)
    response = client_for(world.owner).get(url(world, ordering="amount"))
    book = workbook(b"".join(response.streaming_content))
    assert book.sheetnames == ["Transactions", "Transactions 2", "Transactions 3"]
    sizes = [len(list(book[name].values)) for name in book.sheetnames]
    assert sizes == [4, 4, 2]  # each sheet has the header
    assert [r[3] for r in list(book["Transactions 3"].values)[1:]] == [6]


def test_empty_xlsx_has_the_header(world):
    response = client_for(world.owner).get(url(world))
    assert list(workbook(b"".join(response.streaming_content))["Transactions"].values) == [
        tuple(services.COLUMNS)
    ]


@pytest.fixture
def eager(settings, monkeypatch, media_root):
    settings.KORE_EXPORT_SYNC_LIMIT = 3
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)


def test_large_xlsx_becomes_a_job(world, account, eager, django_capture_on_commit_callbacks):
    record(world, account, [{"amount": Decimal(i), "description": f"row {i}"} for i in range(5)])
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(world.member).get(url(world, ordering="amount", amount_min="1"))
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued"  # as answered; the eager task ran after commit
    assert body["filters"] == {"amount_min": "1"}  # as the query string said it
    job = ExportJob.objects.get(pk=body["id"])
    assert job.status == "done"
    assert job.rows_written == 4
    detail = client_for(world.viewer).get(body["url"])
    assert detail.status_code == 200, (body["url"], detail.content)
    assert detail.json()["status"] == "done"
    download = client_for(world.viewer).get(detail.json()["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == XLSX
    rows = list(workbook(b"".join(download.streaming_content))["Transactions"].values)
    assert [r[5] for r in rows[1:]] == ["row 1", "row 2", "row 3", "row 4"]
    assert_other_org_is_404(world.outsider, "get", body["url"])
    assert_other_org_is_404(world.outsider, "get", detail.json()["download_url"])


def test_download_before_done_is_409(world, settings):
    settings.KORE_EXPORT_SYNC_LIMIT = 0
    job = ExportJob.objects.create(organization=world.org, filename="x.xlsx")
    path = f"/api/v1/orgs/{world.org.slug}/exports/{job.pk}/download/"
    assert_error(client_for(world.owner).get(path), 409, "export_not_ready")


def test_job_rerun_does_nothing(world, account, media_root):
    job = ExportJob.objects.create(organization=world.org, filename="x.xlsx")
    services.export_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "done"
    assert job.rows_written == 0
    path = job.file_path
    services.export_job_run(job_id=job.pk)  # a duplicate message
    job.refresh_from_db()
    assert job.file_path == path
