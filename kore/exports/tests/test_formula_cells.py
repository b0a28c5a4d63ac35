"""A category named like a formula comes out as text in every export format: the streamed CSV,
the XLSX made in the request, and the XLSX a worker job makes."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from openpyxl import load_workbook

from kore.core.testing import client_for
from kore.exports import services
from kore.exports.models import ExportJob
from kore.ledger.tests.factories import CategoryFactory

from .conftest import record

pytestmark = pytest.mark.django_db
FORMULA = '=HYPERLINK("http://x","y")'
CATEGORY = services.COLUMNS.index("category")


@pytest.fixture
def formula_row(world, account):
    category = CategoryFactory(organization=world.org, name=FORMULA)
    record(world, account, [{"amount": Decimal("-4.00"), "category": category.pk}])


def _export(world, fmt: str) -> bytes:
    response = client_for(world.owner).get(
        f"/api/v1/orgs/{world.org.slug}/transactions/export/?format={fmt}"
    )
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def _sheet_rows(content: bytes) -> list[tuple[object, ...]]:
    return list(load_workbook(io.BytesIO(content), read_only=True)["Transactions"].values)


def test_csv_export(world, formula_row):
    rows = list(csv.reader(io.StringIO(_export(world, "csv").decode("utf-8-sig"))))
    assert rows[1][CATEGORY] == "'" + FORMULA
    assert rows[1][services.COLUMNS.index("amount")] == "-4.00"


def test_xlsx_export(world, formula_row):
    rows = _sheet_rows(_export(world, "xlsx"))
    assert rows[1][CATEGORY] == "'" + FORMULA


def test_xlsx_export_job(world, formula_row, media_root):
    job = ExportJob.objects.create(organization=world.org, filename="x.xlsx")
    services.export_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE
    with default_storage.open(job.file_path) as stored:
        rows = _sheet_rows(stored.read())
    assert rows[1][CATEGORY] == "'" + FORMULA
