"""The email task: it carries a kind and a row id only; the worker builds and sends the message.

SMTP and connection errors are retried.
"""

import smtplib
from typing import Any

from celery import shared_task

from .services import email_deliver, email_send

# SMTPException and ConnectionError are OSErrors; listed for the reader. Template errors are not
# retried: another attempt would render the same broken template.
RETRY_ON = (smtplib.SMTPException, ConnectionError, OSError)
# Retried five times, 1, 2, 4, 8 then 16 s apart (less with jitter); acknowledged only once sent,
# so a worker killed mid-send leaves the message for the next one.
DELIVERY: dict[str, Any] = {
    "autoretry_for": RETRY_ON,
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
    "acks_late": True,
}


@shared_task(name="kore.notifications.email_deliver", **DELIVERY)
def send_email(*, kind: str, object_id: int) -> int:
    return email_deliver(kind=kind, object_id=object_id)


@shared_task(name="kore.notifications.send_email", **DELIVERY)
def send_rendered_email(
    *, to: list[str], subject: str, template: str, context: dict[str, Any]
) -> int:
    """Messages the previous release queued (rendered in the web process); nothing enqueues this
    any more. Kept for one release so an upgrade does not drop emails already in the queue."""
    return email_send(to=to, subject=subject, template=template, context=context)
