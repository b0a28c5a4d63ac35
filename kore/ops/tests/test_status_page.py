"""/ops/status/: staff only; shows services, traffic, deploys, backups and recent problems."""

import json
import logging
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from kore.backups.models import Backup
from kore.ops import recorder
from kore.ops.models import ProblemLog, RequestMinute
from kore.orgs.tests.factories import UserFactory

URL = "/ops/status/"


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def test_anonymous_is_sent_to_the_login_page(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/ops/status/")


def test_a_signed_in_non_staff_user_is_refused(client, world):
    client.force_login(world.owner)  # owning an organisation is not operating Kore
    response = client.get(URL)
    assert response.status_code == 403
    assert b"PostgreSQL" not in response.content


def test_wrong_method_is_refused(staff_client):
    assert staff_client.post(URL).status_code == 405


def test_staff_see_services_system_and_no_backup_yet(staff_client):
    response = staff_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("PostgreSQL", "Redis (cache)", "Redis (broker)", "Storage", "CPU", "Memory"):
        assert text in html
    assert "No backup yet" in html
    assert "No deploy recorded." in html
    assert '<meta http-equiv="refresh" content="30">' in html
    assert "/static/ops/status" in html  # its own stylesheet
    assert "<script" not in html  # nothing a strict CSP would block
    assert response["Cache-Control"].startswith("max-age=0")


def test_requests_and_errors_of_the_last_hour_are_shown(staff_client):
    recorder.flush()  # what earlier tests counted in this process
    RequestMinute.objects.all().delete()
    for _ in range(3):
        staff_client.get("/api/v1/health/live/")
    recorder.request_count(status=503)
    recorder.flush()
    assert RequestMinute.objects.count() >= 1
    html = staff_client.get(URL).content.decode()
    # 3 lives + 1 counted error + the earlier page loads of this test (none): 4 requests, 1 error
    assert "4 (0.07/min)" in html
    assert "1 (25.0 %)" in html


def test_warnings_are_listed_redacted_and_the_table_stays_bounded(staff_client):
    logger = logging.getLogger("kore.test")
    for batch in range(3):  # each flush takes at most MAX_PENDING records
        for i in range(recorder.MAX_PENDING):
            logger.warning("disk nearly full %s-%s", batch, i)
        recorder.flush()
    logger.error("upstream said password=Hunter22-secret")
    recorder.flush()
    assert ProblemLog.objects.count() == recorder.KEEP_PROBLEMS
    html = staff_client.get(URL).content.decode()
    assert "upstream said password=[REDACTED]" in html
    assert "Hunter22-secret" not in html


def test_last_deploys_are_read_from_the_deploy_log(staff_client, tmp_path):
    log = tmp_path / "deploys.jsonl"
    lines = [
        {"time": "2026-11-20T10:00:00Z", "version": "abc1234", "env": "production", "result": "ok"},
        {
            "time": "2026-11-21T10:00:00Z",
            "version": "def5678",
            "env": "production",
            "result": "rolled_back",
        },
    ]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines) + "not json\n")
    with override_settings(KORE_DEPLOY_LOG=log):
        html = staff_client.get(URL).content.decode()
    assert "def5678" in html
    assert "rolled_back" in html
    assert html.index("def5678") < html.index("abc1234")  # newest first


def test_last_good_backup_and_its_age_are_shown(staff_client):
    finished = timezone.now() - timedelta(hours=5)
    Backup.objects.create(
        environment="production",
        path="/backups/production_20261123T000000Z",
        status=Backup.Status.VERIFIED,
        started_at=finished - timedelta(minutes=2),
        finished_at=finished,
        verified_at=finished,
        size_bytes=3 * 1024 * 1024,
    )
    html = staff_client.get(URL).content.decode()
    assert "No backup yet" not in html
    assert "3.0\xa0MB" in html
    assert "5:00:" in html  # its age: 5 h
