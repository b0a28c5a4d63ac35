"""Settings of the bare reference: Security and Common middleware, no auth, no templates.

It serves Kore's own database (DATABASE_URL) with Kore's persistent connections (CONN_MAX_AGE,
health checks), so the gap ``make bench`` prints is what Kore adds to a request.
"""

import os
from urllib.parse import unquote, urlsplit

_url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kore_bench"))

SECRET_KEY = os.environ.get("SECRET_KEY", "bare-reference-serves-no-secrets")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "bench.bare.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "bench.bare"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _url.path.lstrip("/"),
        "USER": unquote(_url.username or ""),
        "PASSWORD": unquote(_url.password or ""),
        "HOST": _url.hostname or "",
        "PORT": _url.port or "",
        "CONN_MAX_AGE": int(os.environ.get("CONN_MAX_AGE", "60")),
        "CONN_HEALTH_CHECKS": True,
    }
}
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING_CONFIG = None
