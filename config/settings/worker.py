"""Celery worker settings: production's, without the apps only a web process serves.

The admin (its autodiscovery imports every app's admin module) and the OpenAPI schema generator
(drf-spectacular and its bundled UI) are never used by a worker, yet they cost each worker
process memory it keeps for its whole life. URLs a task reverses (links in e-mails) resolve as
in the web process: config.urls leaves out only the admin and schema routes when those apps are
not installed. The 512 MB profile runs its workers with ``DJANGO_SETTINGS_MODULE`` set to this.
"""

from .production import *  # noqa: F403
from .production import INSTALLED_APPS

WEB_ONLY_APPS = ("django.contrib.admin", "drf_spectacular", "drf_spectacular_sidecar")
INSTALLED_APPS = [app for app in INSTALLED_APPS if app not in WEB_ONLY_APPS]
