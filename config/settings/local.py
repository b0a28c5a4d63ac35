"""Embedded/laptop settings: SQLite in the data directory and local-memory cache unless told."""

import sys

from config.env import env, env_bool

from .base import *  # noqa: F403
from .base import KORE_DATA_DIR, cache_from_url, database_from_url

DEBUG = env_bool("DEBUG", default=True)
SECRET_KEY = env.str(
    "SECRET_KEY", default="local-only-insecure-key-7c1d0f3e9b2a4e58a6d1c0b9f8e7d6c5b4a3f2e1"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS", default=["http://127.0.0.1:8000", "http://localhost:8000"]
)

# The embedded runtime keeps its SQLite file and media here; a fresh clone has no var/ yet.
KORE_DATA_DIR.mkdir(parents=True, exist_ok=True)
# An empty DATABASE_URL counts as unset: the embedded SQLite file.
DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{KORE_DATA_DIR / 'kore.sqlite3'}"
DATABASES = {"default": database_from_url(DATABASE_URL)}
CACHES = cache_from_url(env.str("REDIS_URL", default=""))

SIMPLE_JWT["SIGNING_KEY"] = SECRET_KEY  # noqa: F405
# Hashed names need collectstatic: `make run` collects first (writing the manifest), so WhiteNoise
# serves the hashed, compressed files (with DEBUG on, Django itself links the plain names); without
# a manifest (a bare `manage.py runserver`) the plain names are served from the apps.
if "collectstatic" not in sys.argv and not (STATIC_ROOT / "staticfiles.json").exists():  # noqa: F405
    STORAGES["staticfiles"]["BACKEND"] = (  # noqa: F405
        "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
