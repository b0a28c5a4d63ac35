"""The email task: only JSON-serialisable arguments; SMTP and connection errors are retried."""

import smtplib
from typing import Any

from celery import shared_task

from .services import email_send

# SMTPException and ConnectionError are OSErrors; listed for the reader. Template errors are not
# retried: another attempt would render the same broken template.
RETRY_ON = (smtplib.SMTPException, ConnectionError, OSError)


@shared_task(
    name="kore.notifications.send_email",
    autoretry_for=RETRY_ON,
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
    acks_late=True,
)
def send_email(*, to: list[str], subject: str, template: str, context: dict[str, Any]) -> int:
    return email_send(to=to, subject=subject, template=template, context=context)
