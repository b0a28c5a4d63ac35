"""Operator data kept in small, capped tables: per-minute request counts and recent problems."""

from django.db import models


class RequestMinute(models.Model):
    """Requests and 5xx responses served in one minute, summed over every process.

    Each process adds its counts once a minute (kore.ops.recorder); rows older than
    ``recorder.KEEP_MINUTES`` are deleted on each flush, so the table stays bounded.
    """

    minute = models.DateTimeField(unique=True)
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("-minute",)

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.requests} req {self.errors} err"


class ProblemLog(models.Model):
    """A WARNING or worse log line, redacted; only the newest ``recorder.KEEP_PROBLEMS`` stay."""

    created = models.DateTimeField(db_index=True)
    level = models.CharField(max_length=10)
    logger = models.CharField(max_length=100)
    message = models.CharField(max_length=1000)
    request_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ("-created", "-id")

    def __str__(self) -> str:
        return f"{self.created:%H:%M:%S} {self.level} {self.logger}: {self.message[:60]}"
