"""Fixtures shared by every test: a clean cache, an organisation with every role, and the real
Celery worker the import, rule, planning and suggestion tests share."""

from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache

from config.celery_app import app as celery_app
from kore.core.testing import OrgWorld
from kore.imports.tests.conftest import Worker, _broker_url, sending_to, worker_running
from kore.orgs.models import Role
from kore.orgs.tests.factories import MembershipFactory, OrganizationFactory


@pytest.fixture(autouse=True)
def _celery_runs_tasks_as_configured():
    # Celery reads Django settings once and keeps them: a test that turned eager mode on through
    # settings would leave every later test running tasks in-process instead of in the worker.
    celery_app.conf.task_always_eager = django_settings.CELERY_TASK_ALWAYS_EAGER
    return


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()  # rate-limit counters must not leak between tests
    return


@pytest.fixture
def world(db) -> OrgWorld:
    org = OrganizationFactory()
    people = {}
    for role in (Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER):
        people[role] = MembershipFactory(organization=org, role=role).user
    other = OrganizationFactory()
    outsider = MembershipFactory(organization=other, role=Role.OWNER).user
    return OrgWorld(
        org=org,
        owner=people[Role.OWNER],
        admin=people[Role.ADMIN],
        member=people[Role.MEMBER],
        viewer=people[Role.VIEWER],
        other_org=other,
        outsider=outsider,
    )


@pytest.fixture(scope="session")
def _import_worker_process(django_db_setup, django_db_blocker) -> Iterator[Worker]:
    # Defined here only: a session fixture imported into several conftests is several fixtures,
    # each starting its own worker on the same broker.
    with worker_running(_broker_url(), send_here=False) as worker:
        yield worker


@pytest.fixture
def celery_worker(_import_worker_process: Worker) -> Iterator[Worker]:
    """A real worker process on the test database (started once per session); the test's tasks
    go to its broker. Tests that use it need ``django_db(transaction=True)``."""
    with sending_to(_import_worker_process.env["CELERY_BROKER_URL"]):
        yield _import_worker_process
