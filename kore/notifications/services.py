"""Email: a template pair rendered to HTML and text parts, built and sent by the worker.

Callers use the ``*_email_enqueue`` helpers, which hand the worker only a kind and a row id once
the surrounding transaction commits. The worker reads the row, builds the recipient, subject and
context (a password-reset link or invitation link included) and sends: no address, body, link or
token ever passes through the broker. Without a broker (the embedded runtime) the task runs
in-process; a failure there is logged, never raised into the request.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

if TYPE_CHECKING:
    from kore.orgs.models import Organization

logger = logging.getLogger(__name__)

TEMPLATES = frozenset(
    {
        "invitation",
        "import_finished",
        "import_failed",
        "password_reset",
        "export_ready",
        "webhook_disabled",
        "budget_alert",
    }
)


@dataclass(frozen=True)
class Email:
    """One message as the worker builds it from a row."""

    to: str | list[str]
    subject: str
    template: str
    context: dict[str, Any]


def _public_url(path: str) -> str:
    return f"{settings.KORE_PUBLIC_URL.rstrip('/')}{path}"


def email_render(*, template: str, context: dict[str, Any]) -> tuple[str, str]:
    """The text and HTML bodies of ``notifications/<template>.{txt,html}``."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown email template {template!r}")
    ctx = {"public_url": settings.KORE_PUBLIC_URL.rstrip("/"), **context}
    text = render_to_string(f"notifications/{template}.txt", ctx)
    html = render_to_string(f"notifications/{template}.html", ctx)
    return text, html


def email_send(*, to: list[str] | str, subject: str, template: str, context: dict[str, Any]) -> int:
    """Render and send one multipart (text + HTML) message now. SMTP errors propagate."""
    recipients = [to] if isinstance(to, str) else list(to)
    text, html = email_render(template=template, context=context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),  # a header: never a line break
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(html, "text/html")
    return message.send()


def email_enqueue(*, kind: str, object_id: int) -> None:
    """Have the worker build and send a ``kind`` email about one row, once the transaction commits
    (at once outside one)."""
    from .tasks import send_email

    if kind not in EMAILS:
        raise ValueError(f"unknown email kind {kind!r}")
    # robust: a broker outage or (eager) an SMTP failure must not fail the caller's request.
    transaction.on_commit(lambda: send_email.delay(kind=kind, object_id=object_id), robust=True)


def email_deliver(*, kind: str, object_id: int) -> int:
    """Build the ``kind`` email from its row and send it (in the worker); 0 when there is nothing
    to send any more (the row is gone, used or no longer in that state). SMTP errors propagate."""
    email = EMAILS[kind](object_id)
    if email is None:
        return 0
    return email_send(
        to=email.to, subject=email.subject, template=email.template, context=email.context
    )


# --- what Kore sends ------------------------------------------------------------------------------
def invitation_email_enqueue(*, invitation_id: int) -> None:
    email_enqueue(kind="invitation", object_id=invitation_id)


def password_reset_email_enqueue(*, user_id: int) -> None:
    email_enqueue(kind="password_reset", object_id=user_id)


def import_job_email_enqueue(*, job_id: int) -> None:
    """Tell whoever started the import that it finished or failed."""
    email_enqueue(kind="import_job", object_id=job_id)


def export_job_email_enqueue(*, job_id: int) -> None:
    """Tell whoever started an XLSX export job that its file is ready, with the download link."""
    email_enqueue(kind="export_job", object_id=job_id)


def budget_alert_email_enqueue(*, alert_id: int) -> None:
    """Tell the organisation's owners and admins that a budget reached a threshold."""
    email_enqueue(kind="budget_alert", object_id=alert_id)


def _invitation_email(invitation_id: int) -> Email | None:
    from kore.orgs.models import Invitation
    from kore.orgs.services import invitation_accept_url, invitation_token_find

    invitation = (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(pk=invitation_id, accepted_at__isnull=True)
        .first()
    )
    if invitation is None:  # revoked or accepted before the worker got to it
        return None
    token = invitation_token_find(invitation)
    if token is None:
        logger.warning("Invitation %s: its link cannot be derived (SECRET_KEY?)", invitation.pk)
        return None
    inviter = invitation.invited_by
    org_name = invitation.organization.name
    return Email(
        to=invitation.email,
        subject=f"You are invited to {org_name} on Kore",
        template="invitation",
        context={
            "organization": org_name,
            "inviter": (inviter.full_name or inviter.email) if inviter else "",
            "role": str(invitation.role),
            "accept_url": invitation_accept_url(token),
            "expires_at": invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        },
    )


def _password_reset_email(user_id: int) -> Email | None:
    from kore.orgs.models import User
    from kore.orgs.services import password_reset_url

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    return Email(
        to=user.email,
        subject="Reset your Kore password",
        template="password_reset",
        context={
            "name": user.full_name or user.email,
            # Made here, in the worker, with default_token_generator.
            "reset_url": password_reset_url(user),
            "valid_hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
        },
    )


def _import_job_email(job_id: int) -> Email | None:
    from kore.imports.models import ImportJob

    job = (
        ImportJob.objects.select_related("account", "organization", "created_by")
        .filter(pk=job_id)
        .first()
    )
    if job is None or job.created_by is None or not job.created_by.email:
        return None
    failed = job.status == ImportJob.Status.FAILED
    if not failed and job.status != ImportJob.Status.DONE:
        return None
    what = "Dry run" if job.dry_run else "Import"
    return Email(
        to=job.created_by.email,
        subject=f"{what} of {job.original_name} {'failed' if failed else 'finished'}",
        template="import_failed" if failed else "import_finished",
        context={
            "name": job.created_by.full_name or job.created_by.email,
            "job_id": job.pk,
            "account": job.account.name,
            "organization": job.organization.name,
            "job_url": _public_url(reverse("web:import", args=[job.organization.slug, job.pk])),
        }
        | job.outcome(),
    )


def _export_job_email(job_id: int) -> Email | None:
    from kore.exports.models import ExportJob

    job = (
        ExportJob.objects.select_related("organization", "created_by")
        .filter(pk=job_id, status=ExportJob.Status.DONE)
        .first()
    )
    if job is None or job.created_by is None or not job.created_by.email:
        return None
    kwargs = {"org_slug": job.organization.slug, "job_id": job.pk}
    return Email(
        to=job.created_by.email,
        subject=f"Your export {job.filename} is ready",
        template="export_ready",
        context={
            "name": job.created_by.full_name or job.created_by.email,
            "job_id": job.pk,
            "file_name": job.filename,
            "organization": job.organization.name,
            "rows_written": job.rows_written,
            "download_url": _public_url(reverse("exports:export-download", kwargs=kwargs)),
        },
    )


def webhook_disabled_email_enqueue(*, endpoint_id: int) -> None:
    """Tell the organisation's admins and owners that a webhook endpoint was disabled."""
    email_enqueue(kind="webhook_disabled", object_id=endpoint_id)


def _webhook_disabled_email(endpoint_id: int) -> Email | None:
    from kore.webhooks.models import WebhookEndpoint

    endpoint = (
        WebhookEndpoint.objects.select_related("organization")
        .filter(pk=endpoint_id, is_active=False)
        .first()
    )
    if endpoint is None:  # enabled again before the worker got to it
        return None
    admins = _admin_emails(endpoint.organization)
    if not admins:
        return None
    return Email(
        to=admins,
        subject=f"A webhook of {endpoint.organization.name} was disabled",
        template="webhook_disabled",
        context={
            "organization": endpoint.organization.name,
            "url": endpoint.url,
            "reason": endpoint.disabled_reason,
            "page_url": _public_url(
                reverse("web:webhook", args=[endpoint.organization.slug, endpoint.pk])
            ),
        },
    )


def _budget_alert_email(alert_id: int) -> Email | None:
    from kore.core.money import format_amount
    from kore.planning.budgets import budget_period
    from kore.planning.models import BudgetAlert

    alert = (
        BudgetAlert.objects.select_related("budget__organization", "budget__category")
        .filter(pk=alert_id)
        .first()
    )
    if alert is None:
        return None
    budget, org = alert.budget, alert.budget.organization
    to = _admin_emails(org)
    if not to:
        return None
    period = budget_period(budget, on=alert.period_start)
    return Email(
        to=to,
        subject=f"{budget.category.name} budget at {alert.threshold} % ({org.name})",
        template="budget_alert",
        context={
            "organization": org.name,
            "category": budget.category.name,
            "threshold": alert.threshold,
            "period_start": period.start.isoformat(),
            "period_end": period.end.isoformat(),
            "spent": format_amount(alert.spent, budget.currency),
            "budgeted": format_amount(alert.budgeted, budget.currency),
            "currency": budget.currency,
            "budgets_url": _public_url(reverse("web:budgets", args=[org.slug])),
        },
    )


def _admin_emails(organization: "Organization") -> list[str]:
    """The addresses of the organisation's active owners and admins."""
    from kore.orgs.models import Membership, Role

    return sorted(
        Membership.objects.filter(
            organization=organization, role__in=[Role.OWNER, Role.ADMIN], user__is_active=True
        ).values_list("user__email", flat=True)
    )


# What the worker can build, by the kind the broker carries.
EMAILS: dict[str, Callable[[int], Email | None]] = {
    "invitation": _invitation_email,
    "password_reset": _password_reset_email,
    "import_job": _import_job_email,
    "export_job": _export_job_email,
    "webhook_disabled": _webhook_disabled_email,
    "budget_alert": _budget_alert_email,
}
