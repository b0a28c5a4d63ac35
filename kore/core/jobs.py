"""Bookkeeping every long job row (imports, exports) shares: claim, attempts, heartbeat, outcome.

A worker claims a queued row with a conditional UPDATE that sets a fresh ``claim`` and counts an
attempt; it refreshes ``heartbeat_at`` as it goes; a reaper re-queues rows whose heartbeat is
stale and fails them once ``attempts`` runs out.
"""

from django.db import models


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
