"""The Prometheus endpoint in this process: token-protected, counts requests, tasks, rows."""

import pytest
from django.test import override_settings
from prometheus_client import REGISTRY

from kore.ops import metrics
from kore.ops.tasks import purge_idempotency_keys

TOKEN = "metrics-token-for-tests-0123456789"


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@override_settings(KORE_METRICS_TOKEN="")
def test_metrics_do_not_exist_without_a_configured_token(client):
    assert client.get("/ops/metrics").status_code == 404


@override_settings(KORE_METRICS_TOKEN=TOKEN)
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN])
def test_metrics_refuse_a_missing_or_wrong_token(client, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/ops/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"kore_http" not in response.content


@override_settings(KORE_METRICS_TOKEN=TOKEN)
def test_metrics_wrong_method_is_refused(client):
    response = client.post("/ops/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 405


@pytest.mark.django_db
@override_settings(KORE_METRICS_TOKEN=TOKEN)
def test_requests_are_counted_by_route_and_status(client):
    before = _value("kore_http_requests_total", view="health-live", method="GET", status="200")
    latency_before = _value("kore_http_request_duration_seconds_count", view="health-live")
    for _ in range(3):
        assert client.get("/api/v1/health/live/").status_code == 200
    client.get("/api/v1/no-such-thing/")
    response = client.get("/ops/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'kore_http_requests_total{method="GET",status="200",view="health-live"}' in text
    assert 'view="<unmatched>"' in text
    assert "kore_http_db_queries_bucket" in text
    assert "kore_backup_present" in text
    assert "kore_process_tree_memory_bytes" in text
    assert 'kore_health_check_ok{check="database"} 1.0' in text
    after = _value("kore_http_requests_total", view="health-live", method="GET", status="200")
    assert after - before == 3
    assert _value("kore_http_request_duration_seconds_count", view="health-live") == (
        latency_before + 3
    )


@pytest.mark.django_db
def test_db_queries_per_request_are_observed(world, client):
    from kore.core.testing import client_for

    name = "kore_http_db_queries_sum"
    before = _value(name, view="ledger:account-list")
    response = client_for(world.member).get(f"/api/v1/orgs/{world.org.slug}/accounts/")
    assert response.status_code == 200
    assert _value(name, view="ledger:account-list") - before >= 1


@pytest.mark.django_db
def test_backup_age_reports_no_backup_yet():
    text = metrics.exposition().decode()
    assert "kore_backup_present 0.0" in text
    assert "kore_backup_last_good_age_seconds" not in text


@pytest.mark.django_db
def test_celery_tasks_are_counted_with_their_duration():
    name = "kore.ops.purge_idempotency_keys"
    before = _value("kore_celery_tasks_total", task=name, state="SUCCESS")
    durations = _value("kore_celery_task_duration_seconds_count", task=name)
    purge_idempotency_keys.apply()
    assert _value("kore_celery_tasks_total", task=name, state="SUCCESS") == before + 1
    assert _value("kore_celery_task_duration_seconds_count", task=name) == durations + 1


def test_import_rows_helper_counts_rows():
    before = _value("kore_import_rows_total")
    metrics.import_rows_record(250)
    metrics.import_rows_record(0)
    assert _value("kore_import_rows_total") == before + 250


def test_a_batch_adds_the_same_values_as_observing_each_request():
    view = "batch-test-view"
    names = {
        "count": ("kore_http_requests_total", {"view": view, "method": "GET", "status": "200"}),
        "latency_fast": (
            "kore_http_request_duration_seconds_bucket",
            {"view": view, "le": "0.005"},
        ),
        "latency_mid": ("kore_http_request_duration_seconds_bucket", {"view": view, "le": "0.025"}),
        "latency_all": ("kore_http_request_duration_seconds_bucket", {"view": view, "le": "+Inf"}),
        "latency_sum": ("kore_http_request_duration_seconds_sum", {"view": view}),
        "queries_two": ("kore_http_db_queries_bucket", {"view": view, "le": "2.0"}),
        "queries_sum": ("kore_http_db_queries_sum", {"view": view}),
    }
    before = {key: _value(name, **labels) for key, (name, labels) in names.items()}
    batch = metrics.RequestBatch()
    for seconds, queries in ((0.003, 0), (0.02, 2), (7.0, 3), (20.0, 500)):
        batch.add(view=view, method="GET", status=200, seconds=seconds, queries=queries)
    count_name, count_labels = names["count"]
    assert _value(count_name, **count_labels) == before["count"]  # nothing written before the flush
    batch.flush()
    batch.flush()  # a second flush has nothing left to add
    delta = {key: _value(name, **labels) - before[key] for key, (name, labels) in names.items()}
    assert delta == pytest.approx(
        {
            "count": 4,
            "latency_fast": 1,
            "latency_mid": 2,
            "latency_all": 4,
            "latency_sum": 27.023,
            "queries_two": 2,
            "queries_sum": 505,
        }
    )
