"""Payees (an organisation's counterparties as entities) and the rules that categorise
transactions on import, on create and on demand.

A payee is found through its aliases: each alias is a normalised spelling
(``kore.imports.matching.counterparty_normalise``) unique in the organisation, so once two
payees are merged every later spelling of either lands on the survivor.
"""

from typing import ClassVar

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from kore.core.audit import AuditFields
from kore.core.jobs import JobRow
from kore.ledger.models import Category
from kore.orgs.models import Organization


class Payee(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    # Given to a new transaction of this payee when neither the user nor a rule chose one.
    default_category = models.ForeignKey(
        Category, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(bases=[AuditFields])

    class Meta:
        indexes: ClassVar = [models.Index(fields=["organization", "name"], name="payee_org_name")]

    def __str__(self) -> str:
        return self.name


class PayeeAlias(models.Model):
    """A normalised spelling that names ``payee`` (never empty)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    payee = models.ForeignKey(Payee, on_delete=models.CASCADE, related_name="aliases")
    key = models.CharField(max_length=200)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organization", "key"], name="payee_alias_unique"),
            models.CheckConstraint(condition=~models.Q(key=""), name="payee_alias_not_empty"),
        ]

    def __str__(self) -> str:
        return self.key


class Rule(models.Model):
    """Conditions (all must hold) and actions, in an organisation's order (``position``).

    ``conditions`` and ``actions`` are validated JSON (``kore.payees.rules``): they are
    compiled once per import or run, never per row.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField()
    enabled = models.BooleanField(default=True)
    conditions = models.JSONField(default=list)
    actions = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(bases=[AuditFields])

    class Meta:
        indexes: ClassVar = [models.Index(fields=["organization", "position"], name="rule_order")]

    def __str__(self) -> str:
        return self.name


class RuleRun(JobRow):
    """One rule applied to the ledger by the worker. Its state machine::

        queued ──claim──▶ running ──▶ done ──undo──▶ undone
                             └──────▶ failed   (``error_code``/``error_message``)

    * ``queued``: stored with the rule's version; a task carrying only the id is sent on commit.
    * ``running``: a worker won the conditional UPDATE ``queued → running``; the rows change in
      one database transaction, so a killed worker changes nothing and the reaper re-queues it.
    * ``done``: ``changes`` holds each changed row's values before the run (the undo batch).
    * ``undone``: the batch was put back; ``failed`` and ``undone`` are final.
    """

    MAX_ATTEMPTS = 3

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        UNDONE = "undone"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(Rule, on_delete=models.SET_NULL, null=True, related_name="runs")
    rule_version = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # The transaction list's filters (as its query parameters) the run is limited to.
    filters = models.JSONField(default=dict, blank=True)
    # The request id every audit row of the run carries: the batch the audit trail shows.
    batch = models.CharField(max_length=128)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    changed_count = models.PositiveIntegerField(default=0)
    changes = models.JSONField(default=list, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["organization", "-created_at"], name="rule_run_org_new"),
            models.Index(fields=["status", "heartbeat_at"], name="rule_run_status"),
        ]

    def __str__(self) -> str:
        return f"rule run {self.pk} ({self.status})"
