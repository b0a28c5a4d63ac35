"""A rule run whose worker went silent is handed out again; one out of attempts fails."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kore.payees.models import Rule, RuleRun
from kore.payees.runs import rule_runs_reap

pytestmark = pytest.mark.django_db


def _run(world, **values):
    rule = Rule.objects.create(organization=world.org, name="r", position=0,
                               conditions=[], actions={})  # fmt: skip
    old = timezone.now() - timedelta(hours=1)
    return RuleRun.objects.create(organization=world.org, rule=rule, rule_version=1,
                                  batch="b", heartbeat_at=old, **values)  # fmt: skip


def test_a_silent_run_is_requeued_and_an_exhausted_one_fails(world):
    silent = _run(world, status="running", attempts=1)
    spent = _run(world, status="running", attempts=RuleRun.MAX_ATTEMPTS)
    reaped = rule_runs_reap()
    assert reaped["requeued"] == [silent.pk]
    assert reaped["failed"] == [spent.pk]
    spent.refresh_from_db()
    assert (spent.status, spent.error_code) == ("failed", "rule_run_attempts_exhausted")
