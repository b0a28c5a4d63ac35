"""Embedded/laptop settings (`make run`): SQLite, a file cache and a file broker in the data
directory, and production's behaviour otherwise (DEBUG off, hashed static files, the same
security headers except HTTPS redirect and HSTS: it serves plain HTTP on 127.0.0.1).

`make run-dev` turns DEBUG on for people working on Kore.
"""

import sys
from pathlib import Path

from config.env import env, env_bool, env_int

from .base import *  # noqa: F403
from .base import KORE_DATA_DIR, cache_from_url, database_from_url

DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env.str(
    "SECRET_KEY", default="local-only-insecure-key-7c1d0f3e9b2a4e58a6d1c0b9f8e7d6c5b4a3f2e1"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS", default=["http://127.0.0.1:8000", "http://localhost:8000"]
)

# The embedded runtime keeps its SQLite file, cache, broker and media here; a fresh clone has no
# var/ yet. Nothing lives at a fixed path elsewhere: two checkouts run side by side.
KORE_DATA_DIR.mkdir(parents=True, exist_ok=True)
# An empty DATABASE_URL counts as unset: the embedded SQLite file.
DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{KORE_DATA_DIR / 'kore.sqlite3'}"
DATABASES = {"default": database_from_url(DATABASE_URL)}
# Webhooks may reach receivers on this machine or its network, over plain HTTP.
KORE_WEBHOOK_REQUIRE_HTTPS = env_bool("KORE_WEBHOOK_REQUIRE_HTTPS", default=False)
KORE_WEBHOOK_ALLOW_PRIVATE = env_bool("KORE_WEBHOOK_ALLOW_PRIVATE", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker write from separate processes. WAL lets readers run beside the one writer;
    # BEGIN IMMEDIATE takes the write lock when a transaction starts, so two transactions that
    # read and then write queue on the busy timeout instead of one failing at once with
    # "database is locked" (a deferred transaction cannot wait to upgrade its read lock).
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("KORE_SQLITE_BUSY_TIMEOUT", default=30, min_value=1),
    }

# One cache for every process (throttles count across Gunicorn's workers; local memory would
# count per process). Files, not the database cache: measured 0.7 ms per throttled request for
# both, but a database cache write waits for the worker's write transaction (an import commit):
# 930 ms behind a 1 s transaction against 2 ms for the file cache.
REDIS_URL = env.str("REDIS_URL", default="")
CACHES = cache_from_url(REDIS_URL)
if not REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(KORE_DATA_DIR / "cache"),
            # Beyond MAX_ENTRIES each write deletes a third of the files at random.
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }

# Background work in a real worker (`make run` starts one beside Gunicorn) fed by a broker that
# needs no server: message files under var/broker/ (kore/ops/broker.py says why this transport).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or "filesystem://"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
if CELERY_BROKER_URL == "filesystem://":
    KORE_BROKER_DIR = KORE_DATA_DIR / "broker"
    (KORE_BROKER_DIR / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT = "kore.ops.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(KORE_BROKER_DIR),
        "data_folder_out": str(KORE_BROKER_DIR),
        "control_folder": str(KORE_BROKER_DIR / "control"),
        "polling_interval": 0.1,
    }

SIMPLE_JWT["SIGNING_KEY"] = SECRET_KEY  # noqa: F405
# Collected (hashed) static files belong to this data directory too.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(KORE_DATA_DIR / "static")))
# Hashed names need collectstatic: `make run` (run_embedded) collects first, writing the manifest,
# so WhiteNoise serves the hashed, compressed files; without a manifest (a bare `manage.py
# runserver`, or `make run-dev` on a fresh clone) the plain names are served from the apps.
_collecting = {"collectstatic", "run_embedded"} & set(sys.argv)
if not _collecting and not (STATIC_ROOT / "staticfiles.json").exists():
    STORAGES["staticfiles"]["BACKEND"] = (  # noqa: F405
        "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
