"""production.yml for real: both images built from the repository's Dockerfiles, the stack up in
Kore's own engine (scripts/containers/engine.sh), every check from the host through the port
Nginx publishes. `make test-containers` runs it; the default suite leaves it out (-m containers).
"""

import json
import secrets
import subprocess
from typing import Any

import pytest
import requests

from .stack import ROOT, Stack, wait_for

pytestmark = pytest.mark.containers

EMAIL = "ops@kore.test"
PASSWORD = secrets.token_urlsafe(18)
CSV = (
    b"date,amount,description\n"
    b"2026-02-01,-4.20,Coffee\n2026-02-02,1500.00,Salary\n2026-02-03,-63.10,Groceries\n"
)


@pytest.fixture(scope="module")
def token(stack: Stack) -> str:
    """A user made with manage.py in the web container, signed in through Nginx."""
    stack.manage("createsuperuser", "--noinput", "--email", EMAIL,
                 env={"DJANGO_SUPERUSER_PASSWORD": PASSWORD})  # fmt: skip
    response = stack.request(
        "POST", "/api/v1/auth/token/", json={"email": EMAIL, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access"])


@pytest.fixture(scope="module")
def ledger(stack: Stack, token: str) -> tuple[str, int]:
    """An organisation and an account, created through the API."""
    auth = {"Authorization": f"Bearer {token}"}
    org = stack.request("POST", "/api/v1/orgs/", headers=auth,
                        json={"name": "Containers", "default_currency": "EUR"})  # fmt: skip
    assert org.status_code == 201, org.text
    slug = org.json()["slug"]
    account = stack.request("POST", f"/api/v1/orgs/{slug}/accounts/", headers=auth,
                            json={"name": "Checking", "currency": "EUR"})  # fmt: skip
    assert account.status_code == 201, account.text
    return slug, int(account.json()["id"])


def test_health_is_ok_through_nginx(stack: Stack) -> None:
    response = stack.get("/api/v1/health/")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok", body
    for check in ("database", "cache", "broker"):
        assert body["checks"][check]["status"] == "ok", body
    assert stack.get("/api/v1/health/live/").json() == {"status": "ok"}
    assert stack.get("/health").status_code == 200  # Nginx's own


def test_deploy_health_check_reaches_kore_through_nginx(stack: Stack) -> None:
    """scripts/deploy.sh's check, with the stack's env file: by the name Nginx serves."""
    result = subprocess.run(
        [str(ROOT / "scripts/nginx-health.sh"), str(stack.env_path)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "ok"
    # What it used to send: Host 127.0.0.1, Nginx's catch-all, which closes without an answer.
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{stack.base}/api/v1/health/", timeout=10)


def test_sign_in_returns_a_jwt_that_the_api_accepts(stack: Stack, token: str) -> None:
    assert token.count(".") == 2
    me = stack.get("/api/v1/me/", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["email"] == EMAIL


def test_transaction_is_written_and_read_back(
    stack: Stack, token: str, ledger: tuple[str, int]
) -> None:
    slug, account = ledger
    auth = {"Authorization": f"Bearer {token}"}
    created = stack.request(
        "POST", f"/api/v1/orgs/{slug}/transactions/",
        json={"account": account, "occurred_on": "2026-01-15", "amount": "-12.30"},
        headers=auth | {"Idempotency-Key": secrets.token_hex(8)},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    read = stack.get(f"/api/v1/orgs/{slug}/transactions/{created.json()['id']}/", headers=auth)
    assert read.status_code == 200, read.text
    assert (read.json()["amount"], read.json()["account"]) == ("-12.30", account)


def test_csv_import_is_processed_by_the_worker_container(
    stack: Stack, token: str, ledger: tuple[str, int]
) -> None:
    slug, account = ledger
    auth = {"Authorization": f"Bearer {token}"}
    mapping = {"date": "date", "amount": "amount", "description": "description"}
    upload = stack.request(
        "POST", f"/api/v1/orgs/{slug}/imports/", headers=auth,
        files={"file": ("statement.csv", CSV, "text/csv")},
        data={"account": str(account), "format": "csv", "mapping": json.dumps(mapping)},
    )  # fmt: skip
    assert upload.status_code == 202, upload.text
    job_id = upload.json()["id"]

    def finished() -> dict[str, object] | None:
        job = stack.get(f"/api/v1/orgs/{slug}/imports/{job_id}/", headers=auth).json()
        return job if job["status"] in ("done", "failed", "cancelled") else None

    try:
        job = wait_for(f"import {job_id} to finish", finished, timeout=120, interval=1)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{stack.logs('celeryworker')[-4000:]}") from None
    assert job["status"] == "done", job
    listed = stack.get(f"/api/v1/orgs/{slug}/transactions/?limit=100", headers=auth).json()
    amounts = {t["amount"] for t in listed["results"]}
    assert {"-4.20", "1500.00", "-63.10"} <= amounts, amounts
    assert "kore.imports.tasks.run_import" in stack.logs("celeryworker")


def test_beat_sends_a_scheduled_job_that_the_worker_runs(stack: Stack) -> None:
    """A 5-second interval task added the way an operator would (django-celery-beat rows)."""
    name = f"containers-{secrets.token_hex(4)}"
    stack.shell(
        "from django_celery_beat.models import IntervalSchedule, PeriodicTask\n"
        "every, _ = IntervalSchedule.objects.get_or_create(every=5, period='seconds')\n"
        f"PeriodicTask.objects.create(name={name!r}, interval=every,"
        " task='kore.ops.purge_idempotency_keys')\n"
    )

    # Beat keeps run counts in memory (saved every few minutes): its log says when it sent one.
    wait_for(
        "beat to send the scheduled job",
        lambda: f"Sending due task {name}" in stack.logs("celerybeat"),
        timeout=120,
        interval=2,
    )
    wait_for(
        "the worker to run the scheduled job",
        lambda: any(
            "Task kore.ops.purge_idempotency_keys[" in line and "succeeded" in line
            for line in stack.logs("celeryworker").splitlines()
        ),
        timeout=60,
    )


def test_static_file_is_served_by_nginx_with_cache_headers(stack: Stack) -> None:
    manifest = json.loads(stack.compose("exec", "-T", "django", "cat",
                                        "/app/staticfiles/staticfiles.json"))  # fmt: skip
    hashed = manifest["paths"]["admin/css/base.css"]
    expected = stack.compose("exec", "-T", "django", "cat", f"/app/staticfiles/{hashed}")
    response = stack.get(f"/static/{hashed}")
    assert response.status_code == 200
    assert response.text == expected
    cache_control = response.headers["Cache-Control"]
    assert "max-age=2592000" in cache_control, cache_control
    assert "immutable" in cache_control, cache_control


def test_web_container_stays_healthy_while_postgres_is_down(stack: Stack) -> None:
    """Its health check probes liveness: a database outage is readiness's business (503)."""
    web = stack.compose("ps", "--quiet", "django").split()[0]

    def health() -> dict[str, Any]:
        return dict(json.loads(stack.docker("inspect", "--format", "{{json .State.Health}}", web)))

    before = health()["Log"][-1]["Start"]
    stack.compose("stop", "postgres")
    try:
        assert stack.get("/api/v1/health/").status_code == 503

        # The next probe (every 30 s) runs with the database gone.
        def probed() -> dict[str, Any] | None:
            now = health()
            return now if now["Log"][-1]["Start"] != before else None

        after = wait_for("a health probe during the outage", probed, 60)
        assert after["Log"][-1]["ExitCode"] == 0, after["Log"][-1]
        assert after["Status"] == "healthy", after
    finally:
        stack.compose("start", "postgres")
    wait_for("readiness again", lambda: stack.get("/api/v1/health/").status_code == 200, 90)


def test_no_container_was_oom_killed(stack: Stack) -> None:
    ids = stack.compose("ps", "--all", "--quiet").split()
    assert ids
    states = [c["State"] for c in json.loads(stack.docker("inspect", *ids))]
    assert not [s for s in states if s["OOMKilled"]], states
