"""Email: a template pair rendered to HTML and text parts, sent by the worker with retries.

Callers use the ``*_email_enqueue`` helpers: each builds a JSON-serialisable context and hands it
to ``send_email`` once the surrounding transaction commits. Without a broker (the embedded
runtime) the task runs in-process; a failure there is logged, never raised into the request.
"""

import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

if TYPE_CHECKING:
    from kore.orgs.models import Invitation, User

logger = logging.getLogger(__name__)

TEMPLATES = frozenset(
    {"invitation", "import_finished", "import_failed", "password_reset", "export_ready"}
)


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


def email_enqueue(
    *, to: list[str] | str, subject: str, template: str, context: dict[str, Any]
) -> None:
    """Send through the worker once the current transaction commits (at once outside one)."""
    from .tasks import send_email

    if template not in TEMPLATES:
        raise ValueError(f"unknown email template {template!r}")
    kwargs: dict[str, Any] = {
        "to": [to] if isinstance(to, str) else list(to),
        "subject": subject,
        "template": template,
        "context": context,
    }
    # robust: a broker outage or (eager) an SMTP failure must not fail the caller's request.
    transaction.on_commit(lambda: send_email.delay(**kwargs), robust=True)


# --- what Kore sends ------------------------------------------------------------------------------
def invitation_email_enqueue(*, invitation: "Invitation", accept_url: str) -> None:
    inviter = invitation.invited_by
    org_name = invitation.organization.name
    email_enqueue(
        to=invitation.email,
        subject=f"You are invited to {org_name} on Kore",
        template="invitation",
        context={
            "organization": org_name,
            "inviter": (inviter.full_name or inviter.email) if inviter else "",
            "role": str(invitation.role),
            "accept_url": accept_url,
            "expires_at": invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        },
    )


def password_reset_email_enqueue(*, user: "User", reset_url: str) -> None:
    email_enqueue(
        to=user.email,
        subject="Reset your Kore password",
        template="password_reset",
        context={
            "name": user.full_name or user.email,
            "reset_url": reset_url,
            "valid_hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
        },
    )


def import_job_email_enqueue(*, job_id: int) -> None:
    """Tell whoever started the import that it finished or failed."""
    from kore.imports.models import ImportJob

    job = (
        ImportJob.objects.select_related("account", "organization", "created_by")
        .filter(pk=job_id)
        .first()
    )
    if job is None or job.created_by is None or not job.created_by.email:
        return
    failed = job.status == ImportJob.Status.FAILED
    if not failed and job.status != ImportJob.Status.DONE:
        return
    what = "Dry run" if job.dry_run else "Import"
    email_enqueue(
        to=job.created_by.email,
        subject=f"{what} of {job.original_name} {'failed' if failed else 'finished'}",
        template="import_failed" if failed else "import_finished",
        context={
            "name": job.created_by.full_name or job.created_by.email,
            "job_id": job.pk,
            "file_name": job.original_name,
            "account": job.account.name,
            "organization": job.organization.name,
            "dry_run": job.dry_run,
            "rows_read": job.rows_read,
            "created_count": job.created_count,
            "duplicate_count": job.duplicate_count,
            "invalid_count": job.invalid_count,
            "error_code": job.error_code,
            "error_message": job.error_message,
            "job_url": _public_url(reverse("web:import", args=[job.organization.slug, job.pk])),
        },
    )


def export_job_email_enqueue(*, job_id: int) -> None:
    """Tell whoever started an XLSX export job that its file is ready, with the download link."""

    from kore.exports.models import ExportJob

    job = (
        ExportJob.objects.select_related("organization", "created_by")
        .filter(pk=job_id, status=ExportJob.Status.DONE)
        .first()
    )
    if job is None or job.created_by is None or not job.created_by.email:
        return
    kwargs = {"org_slug": job.organization.slug, "job_id": job.pk}
    email_enqueue(
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
