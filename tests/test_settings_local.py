"""The embedded runtime's settings: DATABASE_URL empty means the SQLite file; nonsense is refused.

Each case runs ``manage.py`` in a fresh process with a throwaway KORE_DATA_DIR.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PRINT_ENGINE = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"


def _shell(tmp_path: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/"),
        "KORE_DATA_DIR": str(tmp_path),
        "DATABASE_URL": database_url,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PRINT_ENGINE],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_an_empty_database_url_is_the_embedded_sqlite_file(tmp_path):
    result = _shell(tmp_path, "")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "django.db.backends.sqlite3"


def test_a_database_url_naming_no_database_is_refused_with_a_clear_message(tmp_path):
    result = _shell(tmp_path, "not-a-url")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DATABASE_URL 'not-a-url' names no database Kore knows" in result.stderr


# --- `make run`'s behaviour: production's, on plain HTTP ------------------------------------------
def _local(tmp_path: Path, code: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh process on the local settings, with nothing of the caller's
    environment that would change them (no DATABASE_URL, REDIS_URL, broker or DEBUG)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/"),
        "KORE_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup()\n{code}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _last_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


REQUEST = """
import json
from django.test import Client
from django.urls import clear_url_caches, path
import config.urls

def boom(request):
    raise RuntimeError("secret-looking detail")

config.urls.urlpatterns.insert(0, path("api/v1/boom/", boom))
clear_url_caches()
r = Client(raise_request_exception=False).generic(
    {method!r}, {path!r}, HTTP_HOST="127.0.0.1", HTTP_ACCEPT="text/html,application/json"
)
out = {{"status": r.status_code, "headers": dict(r.headers), "body": r.content.decode()}}
print(json.dumps(out))
"""


def _request(tmp_path: Path, method: str, path: str) -> dict[str, Any]:
    return dict(_last_json(_local(tmp_path, REQUEST.format(method=method, path=path))))


def test_debug_is_off_by_default_in_the_local_settings(tmp_path):
    result = _local(tmp_path, "from django.conf import settings; print(settings.DEBUG)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "False"


def test_an_unknown_api_url_is_a_json_404_with_a_code_not_the_url_list(tmp_path):
    response = _request(tmp_path, "GET", "/api/v1/nope/")
    assert response["status"] == 404
    assert response["headers"]["Content-Type"] == "application/json"
    assert json.loads(response["body"])["error"]["code"] == "not_found"
    assert "api/v1/" not in response["body"].replace("/api/v1/nope/", "")


def test_a_wrong_method_under_the_api_is_a_json_405_with_a_code(tmp_path):
    response = _request(tmp_path, "DELETE", "/api/v1/health/live/")
    assert response["status"] == 405
    assert json.loads(response["body"])["error"]["code"] == "method_not_allowed"


def test_a_server_error_under_the_api_is_a_json_500_without_a_traceback(tmp_path):
    response = _request(tmp_path, "GET", "/api/v1/boom/")
    assert response["status"] == 500
    assert json.loads(response["body"])["error"]["code"] == "server_error"
    assert "secret-looking detail" not in response["body"]
    assert "Traceback" not in response["body"]


def test_security_headers_are_production_s_except_hsts_and_the_https_redirect(tmp_path):
    response = _request(tmp_path, "GET", "/sign-in/")
    headers = {k.lower(): v for k, v in response["headers"].items()}
    assert response["status"] == 200  # plain HTTP is served, not redirected to HTTPS
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "strict-transport-security" not in headers


def test_the_cache_is_shared_by_every_process_of_the_checkout(tmp_path):
    # Throttles count in the cache: one Gunicorn worker's count must be seen by the others.
    write = _local(tmp_path, "from django.core.cache import cache; cache.set('hits', 7, 60)")
    assert write.returncode == 0, write.stderr
    read = _local(tmp_path, "from django.core.cache import cache; print(cache.get('hits'))")
    assert read.returncode == 0, read.stderr
    assert read.stdout.splitlines()[-1] == "7"


def test_the_health_check_reads_back_the_shared_cache(tmp_path):
    result = _local(tmp_path, "from kore.ops.health import check_cache; print(repr(check_cache()))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "''"


def test_tasks_go_to_the_worker_through_the_file_broker_not_into_the_request(tmp_path):
    # Job 0 does not exist: run in-process it would fail here; sent, it waits in var/broker/.
    result = _local(tmp_path, "from kore.imports.tasks import run_import; run_import.delay(0)")
    assert result.returncode == 0, result.stderr
    assert [p.name.split(".", 1)[1] for p in (tmp_path / "broker").glob("*.msg")] == ["imports.msg"]
