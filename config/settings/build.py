"""Image build only: ``collectstatic`` with no database, no network and no real secrets.

The Dockerfile runs ``DJANGO_SETTINGS_MODULE=config.settings.build manage.py collectstatic``. The
apps, storages and STATIC_ROOT are the production ones (from base), so the manifest written here is
the one production reads; nothing built with these settings ever serves a request.
"""

from .base import *  # noqa: F403

DEBUG = False
# Not a secret: it signs nothing that leaves the build (collectstatic signs nothing at all).
SECRET_KEY = "build-only-collectstatic-key-never-used-to-serve-0123456789abcdef"  # noqa: S105
DATABASES: dict[str, dict[str, object]] = {}  # the dummy backend: any query would fail loudly
CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
