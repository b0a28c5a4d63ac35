"""What every web and worker process imports at start: libraries only one feature needs stay out.

Each Gunicorn worker and Celery worker pays for its imports in private memory (the 512 MB
profile runs five of them): openpyxl ~10 MB, boto3 + botocore ~20 MB. They are imported by the
code path that uses them (XLSX export, S3), not at start.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONLY_WHEN_USED = ("openpyxl", "boto3", "botocore", "moto", "playwright")

PROBE = """
import json, sys
import django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns  # every view module, as a web worker's first request loads them
from config.celery_app import app
app.loader.import_default_modules()  # every tasks module, as a worker loads them
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in %r)))
"""


def test_web_and_worker_processes_start_without_feature_only_libraries():
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run(  # our own interpreter and code
        [sys.executable, "-c", PROBE % (ONLY_WHEN_USED,)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == [], f"imported at start: {loaded}"


WSGI_PROBE = """
import gc, json, sys
import config.wsgi
from django.db import connections
print(json.dumps({
    "views": "kore.ledger.apis.transactions" in sys.modules
        and "kore.web.views.transactions" in sys.modules,
    "jwt": "jwt.algorithms" in sys.modules,
    "connections": [a for a in connections if connections[a].connection is not None],
    "feature_only": sorted(m for m in sys.modules if m.split(".")[0] in %r),
    "frozen": gc.get_freeze_count() > 10000,
}))
"""


def test_loading_the_wsgi_app_loads_the_urlconf_and_opens_no_connection():
    """What Gunicorn's master loads with GUNICORN_PRELOAD is shared by every worker it forks: the
    views and the JWT backend load there, not on each worker's first request; and the master
    opens no database connection for its workers to inherit. What it loaded is frozen out of the
    garbage collector's full collections (a worker pause of ~0.1 s each otherwise)."""
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run(  # our own interpreter and code
        [sys.executable, "-c", WSGI_PROBE % (ONLY_WHEN_USED,)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == {
        "views": True, "jwt": True, "connections": [], "feature_only": [], "frozen": True
    }  # fmt: skip


WORKER_PROBE = """
import json, sys
import django
django.setup()
from config.celery_app import app
app.loader.import_default_modules()
from django.core.checks import run_checks
run_checks()  # what Celery's Django fixup runs at worker start (it loads the URLconf)
from django.urls import reverse
print(json.dumps({
    "link": reverse("web:import", args=["acme", 7]),  # a task's e-mail link still resolves
    "admin_modules": sorted(m for m in sys.modules if m.startswith("kore.") and
                            m.rsplit(".", 1)[-1] == "admin"),
    "schema": sorted(m for m in ("kore.orgs.schema", "drf_spectacular.views") if m in sys.modules),
}))
"""


def test_worker_settings_load_neither_the_admin_nor_the_schema_views():
    """config.settings.worker (the 512 MB profile's workers): every task and e-mail link works
    without the admin's autodiscovery or the OpenAPI views, which a worker never serves."""
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.worker",
        "SECRET_KEY": "worker-probe-" + "k" * 50,
        "ALLOWED_HOSTS": "kore.test",
        "DEBUG": "False",
    }
    result = subprocess.run(  # our own interpreter and code
        [sys.executable, "-c", WORKER_PROBE], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == {"link": "/o/acme/imports/7/", "admin_modules": [], "schema": []}
