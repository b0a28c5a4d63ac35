"""A test-only Celery task whose effect can be counted, loaded into the e2e worker with
``celery worker --include tests.e2e.tasks`` (never part of Kore's own task list).

Every start is recorded in ``e2e_attempt`` (with the pool process's pid, so a test can kill that
very process); the effect is one row in ``e2e_effect``, written only when the task finishes. A task
killed mid-way and redelivered shows two attempts and one effect. The test creates both tables.
"""

import os
import time

from celery import shared_task
from django.db import connection


@shared_task(name="kore.e2e.count")
def count(key: str, seconds: float) -> None:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO e2e_attempt (key, pid) VALUES (%s, %s)", [key, os.getpid()])
    time.sleep(seconds)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO e2e_effect (key) VALUES (%s)", [key])
