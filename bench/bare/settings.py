"""Settings of the bare reference: Security and Common middleware, no auth, no templates.

It serves Kore's own database (DATABASE_URL) with Kore's persistent connections (CONN_MAX_AGE,
health checks), so the gap ``make bench`` prints is what Kore adds to a request. The JWT settings,
the prepared-statement threshold and the Redis cache are Kore's, for the mandatory view only
(its token check, authentication query and throttle counter): no middleware uses them, and
Django's client-side cursors, which every other view runs on, never prepare.
"""

import os
from urllib.parse import unquote, urlsplit

from kore.core.redis_connection import FailFastConnection

_url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kore_bench"))

SECRET_KEY = os.environ.get("SECRET_KEY", "bare-reference-serves-no-secrets")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "bench.bare.urls"
# django.contrib.auth: simplejwt's token module imports its models (no auth middleware).
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "bench.bare"]
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
        "OPTIONS": {"prepare_threshold": 5},
    }
}
# Kore's (config.settings.base): the same key, algorithm and claims checks.
SIMPLE_JWT = {
    "SIGNING_KEY": os.environ.get("JWT_SIGNING_KEY") or SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}
_redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/5")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": _redis,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "kore"),
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": 1,
            "SOCKET_TIMEOUT": 1,
            "CONNECTION_POOL_KWARGS": (
                {"connection_class": FailFastConnection} if _redis.startswith("redis://") else {}
            ),
        },
    }
}
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING_CONFIG = None
