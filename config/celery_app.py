"""The Celery application: `celery -A config.celery_app worker|beat`.

Settings come from Django settings (``CELERY_*``). Without ``CELERY_BROKER_URL`` (the embedded
runtime) tasks run in-process, eagerly, so every feature works with no Redis and no worker.
"""

import os

from celery import Celery

from kore.ops import celery_metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("kore")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Metrics for Prometheus: the pool's processes in multiprocess mode (kore.ops.celery_metrics).
celery_metrics.connect()
