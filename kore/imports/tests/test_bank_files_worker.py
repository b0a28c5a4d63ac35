"""Each statement format uploaded through the API and imported by a real Celery worker: the job
names the detected format, and the error a user polls for is the bank's own words."""

import pytest

from kore.core.testing import client_for

from .conftest import wait_for
from .test_worker import post

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("name", "fmt", "created"),
    [("mt940_nl_swift.txt", "mt940", 3), ("mt942_intraday.txt", "mt942", 2),
     ("qif_bank_us.qif", "qif", 4), ("camt052_intraday.xml", "camt052", 2),
     ("ofx_evening_offsets.ofx", "ofx", 4)],
)  # fmt: skip
def test_each_format_is_uploaded_detected_and_imported(celery_worker, world, account, name, fmt,
                                                       created):  # fmt: skip
    job_id = post(world, account, name)
    job = wait_for(job_id)
    assert (job.status, job.format, job.created_count) == ("done", fmt, created)
    body = client_for(world.viewer).get(f"/api/v1/orgs/{world.org.slug}/imports/{job_id}/").json()
    assert body["format"] == fmt


def test_an_ofx_error_response_is_reported_in_the_banks_words(celery_worker, world, account):
    job_id = post(world, account, "ofx_error_response.ofx")
    wait_for(job_id)
    body = client_for(world.viewer).get(f"/api/v1/orgs/{world.org.slug}/imports/{job_id}/").json()
    assert body["status"] == "failed"
    assert body["error"]["code"] == "import_bank_error"
    assert "Account not found or access denied" in body["error"]["message"]
