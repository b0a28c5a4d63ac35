"""The status page pings workers through Kore's Celery app (the one loaded with Django)."""

import pytest

from kore.core.testing import wait_until
from kore.imports.tests.conftest import _broker_url, worker_running
from kore.ops import status

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_running_worker_is_counted(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    url = _broker_url()
    with worker_running(url):

        def answered() -> int | None:
            status._workers_cache.clear()
            return status.workers_count(url)

        assert wait_until(answered, timeout=60, what="the worker's ping answer") == 1
