"""The one lifecycle of every long job row (imports, exports): claim, heartbeat, finish, reap.

A worker claims a queued row with a conditional UPDATE that sets a fresh ``claim`` and counts an
attempt (``job_claim``); it refreshes ``heartbeat_at`` as it goes, and every write it makes is
conditional on still holding the claim (``job_heartbeat``); it ends the row the same way
(``job_finish``). The reaper (``jobs_reap``) re-queues running rows whose worker went silent (a
stale heartbeat, or none at all since a stale update: a worker killed between its claim and its
first heartbeat), re-sends queued rows left waiting (a lost message, a broker outage), and fails
either kind once ``max_attempts`` claims were used.
"""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

QUEUED, RUNNING = "queued", "running"


class JobRow(models.Model):
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    claim = models.UUIDField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


J = TypeVar("J", bound=JobRow)


def job_claim(model: type[J], job_id: int) -> uuid.UUID | None:
    """Take a queued job (``queued → running``, one more attempt); None when it is not queued
    (done, cancelled, or a duplicate message for a job another worker holds)."""
    claim, now = uuid.uuid4(), timezone.now()
    won = model._default_manager.filter(pk=job_id, status=QUEUED).update(
        status=RUNNING, claim=claim, attempts=F("attempts") + 1, heartbeat_at=now, updated_at=now
    )
    return claim if won else None


def job_heartbeat(model: type[J], job_id: int, claim: uuid.UUID, **values: Any) -> bool:
    """Record progress (``values``) and that the worker lives; False when the job is no longer
    this claim's (cancelled, or re-queued by the reaper): the worker then stops."""
    now = timezone.now()
    return bool(
        model._default_manager.filter(pk=job_id, status=RUNNING, claim=claim).update(
            heartbeat_at=now, updated_at=now, **values
        )
    )


def job_finish(
    model: type[J], job_id: int, claim: uuid.UUID, status: str, *, code: str = "",
    message: str = "", **values: Any,
) -> bool:  # fmt: skip
    """End the job in ``status`` if this claim still holds it; whether it did."""
    now = timezone.now()
    ended = model._default_manager.filter(pk=job_id, status=RUNNING, claim=claim).update(
        status=status, error_code=code, error_message=message[:500], finished_at=now,
        updated_at=now, claim=None, **values,
    )  # fmt: skip
    return bool(ended)


@dataclass
class Reaped:
    failed: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)

    @property
    def to_send(self) -> list[int]:
        return [*self.requeued, *self.resent]


def jobs_reap(
    model: type[J], *, stale_after: timedelta, max_attempts: int, failed_code: str,
    failed_status: str = "failed",
) -> Reaped:  # fmt: skip
    """Re-queue silent running jobs, re-send queued ones left waiting, fail the exhausted ones.
    The caller sends ``to_send`` to its worker queue."""
    now = timezone.now()
    deadline = now - stale_after
    stale_running = Q(status=RUNNING) & (
        Q(heartbeat_at__lt=deadline) | Q(heartbeat_at__isnull=True, updated_at__lt=deadline)
    )
    stale_queued = Q(status=QUEUED, updated_at__lt=deadline)
    rows = model._default_manager
    reaped = Reaped()
    exhausted = rows.filter(stale_running | stale_queued, attempts__gte=max_attempts)
    for pk in exhausted.values_list("pk", flat=True):
        if rows.filter(stale_running | stale_queued, pk=pk, attempts__gte=max_attempts).update(
            status=failed_status, claim=None, finished_at=now, updated_at=now,
            error_code=failed_code, error_message=f"Gave up after {max_attempts} attempts.",
        ):  # fmt: skip
            reaped.failed.append(pk)
    for pk in rows.filter(stale_running).values_list("pk", flat=True):
        if rows.filter(stale_running, pk=pk).update(status=QUEUED, claim=None, updated_at=now):
            reaped.requeued.append(pk)
    for pk in rows.filter(stale_queued).values_list("pk", flat=True):
        if rows.filter(stale_queued, pk=pk).update(updated_at=now):
            reaped.resent.append(pk)
    return reaped
