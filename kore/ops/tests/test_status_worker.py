"""The status page pings workers through Kore's Celery app (the one loaded with Django)."""

import os
from urllib.parse import urlsplit, urlunsplit

import pytest

from kore.core.testing import wait_until
from kore.imports.tests.conftest import worker_running
from kore.ops import status

pytestmark = pytest.mark.django_db(transaction=True)


def _own_broker() -> str:
    """A broker no other test's worker reads (Redis db 14, or KORE_TEST_STATUS_BROKER): the
    import tests' session-long worker answers pings on its own broker too."""
    if own := os.environ.get("KORE_TEST_STATUS_BROKER"):
        return own
    parts = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1"))
    return urlunsplit(parts._replace(path="/14"))


def test_a_running_worker_is_counted(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    url = _own_broker()
    with worker_running(url):

        def answered() -> int | None:
            status._workers_cache.clear()
            return status.workers_count(url)

        assert wait_until(answered, timeout=60, what="the worker's ping answer") == 1
