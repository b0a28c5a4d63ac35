"""Transaction exports too large to answer in the request: one ``ExportJob`` row each."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from kore.core.jobs import JobRow
from kore.orgs.models import Organization


class ExportJob(JobRow):
    """One XLSX export written by the worker. Its state machine::

        queued ──claim──▶ running ──▶ done     (file at ``file_path``, downloadable)
                             └──────▶ failed   (``error_code``/``error_message``)

    * ``queued``: the filters are stored and a task carrying only the id is sent on commit.
    * ``running``: a worker won the conditional UPDATE ``queued → running`` (a duplicate message
      finds no queued row and does nothing). The file is written to a temporary file and stored
      in the default storage only when complete, so a killed worker leaves no half file.
    * ``done`` and ``failed`` are final.
    """

    MAX_ATTEMPTS = 5

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    class Format(models.TextChoices):
        XLSX = "xlsx"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.XLSX)
    # The validated list filters (JSON-safe: dates ISO, decimals strings) and the ordering.
    filters = models.JSONField(default=dict, blank=True)
    ordering = models.CharField(max_length=20, default="-occurred_on")
    # exports/<org id>/<uuid4 hex>.xlsx in the default storage once done.
    file_path = models.CharField(max_length=255, blank=True)
    filename = models.CharField(max_length=255)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_written = models.PositiveIntegerField(default=0)

    class Meta:
        indexes: ClassVar = [
            models.Index(
                "organization",
                models.F("created_at").desc(),
                models.F("id").desc(),
                name="exports_job_org_new",
            ),
            models.Index(
                fields=["status", "updated_at"],
                name="exports_job_active",
                condition=Q(status__in=["queued", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.status})"
