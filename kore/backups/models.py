"""Backups of the database, media and configuration: one ``Backup`` row per backup directory."""

from typing import ClassVar

from django.db import models


class Backup(models.Model):
    """One backup directory (``<env>_<UTC timestamp>/``). Its state machine::

        running ──▶ complete ──verify──▶ verified
           │            └────verify────▶ failed   (the restored copy disagrees with the manifest)
           └──────────▶ failed                    (pg_dump, tar or the manifest went wrong)

    * ``running``: the files are being written under a ``.partial-`` name; nothing reads them.
    * ``complete``: every file is written, the manifest lists their SHA-256 and the directory has
      its final name (a rename, so a crash never leaves a directory that looks whole).
    * ``verified``: restored into a scratch database whose row counts and per-table checksums
      equal the manifest's. ``verified_at`` says when; a later verify may run again.
    * ``failed`` is final; ``error`` says why.

    ``complete`` and ``verified`` are the good states: retention never removes the last good one.
    """

    class Status(models.TextChoices):
        RUNNING = "running"
        COMPLETE = "complete"
        VERIFIED = "verified"
        FAILED = "failed"

    GOOD = (Status.COMPLETE, Status.VERIFIED)

    environment = models.CharField(max_length=40)
    # Absolute path of the backup directory (its final name, even while running).
    path = models.CharField(max_length=500, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Object key prefix of the encrypted off-site copy, when one was uploaded.
    remote_key = models.CharField(max_length=500, blank=True)
    # The broker message (Celery task id) that asked for it; empty for a manual backup. A message
    # delivered again after its backup was written finds it here and dumps nothing.
    task_id = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering: ClassVar = ["-started_at", "-id"]
        indexes: ClassVar = [
            models.Index(fields=["status", "-started_at"], name="backups_status_started"),
        ]

    def __str__(self) -> str:
        return f"backup {self.pk} {self.environment} ({self.status})"
