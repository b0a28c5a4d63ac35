"""email_send and the send_email task against a real SMTP server: parts, recipients, retries."""

import smtplib

import pytest
from celery.exceptions import Retry
from django.db import transaction
from django.template import TemplateDoesNotExist

from config.celery_app import app as celery_app
from kore.notifications import services, tasks
from kore.notifications.services import email_enqueue, email_send
from kore.notifications.tasks import send_email, send_rendered_email
from kore.orgs.tests.factories import UserFactory

from .conftest import parts

INVITE = {
    "organization": "Smith & Co <Ltd>",
    "inviter": "Ada Lovelace",
    "role": "member",
    "accept_url": "https://kore.test/invitations/accept/?token=abc&x=1",
    "expires_at": "2026-01-01 00:00 UTC",
}
KWARGS = {
    "to": ["bob@example.test"],
    "subject": "You are invited",
    "template": "invitation",
    "context": INVITE,
}


@pytest.fixture
def reset_kwargs(db) -> dict[str, object]:
    """What the task carries for a password reset: a kind and a user id."""
    user = UserFactory(email="bob@example.test")
    return {"kind": "password_reset", "object_id": user.pk}


def test_a_message_has_text_and_html_parts_and_the_link(smtp_server):
    email_send(**KWARGS)
    (envelope,) = smtp_server.envelopes
    assert envelope.rcpt_tos == ["bob@example.test"]
    assert envelope.mail_from == "no-reply@kore.local"
    (message,) = smtp_server.messages
    assert message["Subject"] == "You are invited"
    assert message["From"] == "Kore <no-reply@kore.local>"
    assert message["To"] == "bob@example.test"
    text, html = parts(message)
    # Text is not HTML-escaped; HTML is.
    assert "Smith & Co <Ltd>" in text
    assert "https://kore.test/invitations/accept/?token=abc&x=1" in text
    assert "Smith &amp; Co &lt;Ltd&gt;" in html
    assert 'href="https://kore.test/invitations/accept/?token=abc&amp;x=1"' in html
    assert "<html" in html
    assert "<html" not in text


def test_every_template_renders_both_parts():
    contexts = {
        "invitation": INVITE,
        "password_reset": {"name": "Ada", "reset_url": "https://k/r", "valid_hours": 72},
        "import_finished": {"name": "Ada", "file_name": "a.csv", "job_url": "https://k/j",
                            "created_count": 4, "dry_run": False},
        "import_failed": {"name": "Ada", "file_name": "a.csv", "job_url": "https://k/j",
                          "error_message": "Bad header", "error_code": "import_bad_header"},
        "export_ready": {"name": "Ada", "file_name": "a.xlsx", "organization": "Acme",
                         "rows_written": 4, "download_url": "https://k/d"},
        "webhook_disabled": {"organization": "Acme", "url": "https://hooks.example.com/k",
                             "reason": "Every attempt failed for 72 hours.",
                             "page_url": "https://k/w"},
        "budget_alert": {"organization": "Acme", "category": "Food", "threshold": 80,
                         "period_start": "2026-01-01", "period_end": "2026-01-31",
                         "spent": "80.00", "budgeted": "100.00", "currency": "EUR",
                         "budgets_url": "https://k/b"},
    }  # fmt: skip
    assert set(contexts) == services.TEMPLATES
    for template, context in contexts.items():
        text, html = services.email_render(template=template, context=context)
        assert "{%" not in text + html
        assert "{{" not in text + html
        assert "https://k/" in text or "https://kore.test" in text, template
        assert "<!DOCTYPE html>" in html


def test_an_unknown_template_is_refused():
    with pytest.raises(ValueError, match="unknown email template"):
        email_send(to="a@example.test", subject="x", template="nope", context={})


def test_the_task_builds_and_sends_the_message_from_the_row(smtp_server, reset_kwargs):
    result = send_email.apply(kwargs=reset_kwargs)
    assert result.state == "SUCCESS"
    assert result.result == 1
    (message,) = smtp_server.messages
    assert message["To"] == "bob@example.test"
    assert message["Subject"] == "Reset your Kore password"


def test_the_task_sends_nothing_for_a_row_that_is_gone(smtp_server, reset_kwargs):
    UserFactory._meta.model.objects.filter(pk=reset_kwargs["object_id"]).delete()
    result = send_email.apply(kwargs=reset_kwargs)
    assert result.result == 0
    assert smtp_server.envelopes == []


def test_a_message_queued_by_the_previous_release_is_still_sent(smtp_server):
    result = send_rendered_email.apply(kwargs=KWARGS)
    assert result.result == 1
    assert smtp_server.messages[0]["Subject"] == "You are invited"


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown email kind"):
        email_enqueue(kind="nope", object_id=1)


def test_enqueue_waits_for_the_commit(
    smtp_server, reset_kwargs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        email_enqueue(**reset_kwargs)
        assert smtp_server.envelopes == []  # nothing before the commit
    assert [m["To"] for m in smtp_server.wait_for(1)] == ["bob@example.test"]


def test_a_rolled_back_transaction_sends_nothing(
    smtp_server, reset_kwargs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                email_enqueue(**reset_kwargs)
                raise RuntimeError("rollback")
        except RuntimeError:
            pass
    assert callbacks == []
    assert smtp_server.envelopes == []


def test_retry_policy():
    assert set(tasks.RETRY_ON) >= {smtplib.SMTPException, ConnectionError, OSError}
    assert send_email.autoretry_for == tasks.RETRY_ON
    assert send_email.retry_backoff is True
    assert send_email.retry_jitter is True
    assert send_email.max_retries == 5


def _count_attempts(monkeypatch, before=None):
    """Record ``request.retries`` of every attempt; ``before(n)`` runs ahead of attempt n."""
    attempts: list[int] = []
    real = tasks.email_deliver

    def counting(**kwargs):
        attempts.append(send_email.request.retries)
        if before is not None:
            before(len(attempts))
        return real(**kwargs)

    monkeypatch.setattr(tasks, "email_deliver", counting)
    return attempts


def test_smtp_down_raises_retry_under_eager_propagation(smtp_server, reset_kwargs, monkeypatch):
    smtp_server.stop()
    attempts = _count_attempts(monkeypatch)
    with pytest.raises(Retry) as info:
        send_email.apply(kwargs=reset_kwargs)
    assert isinstance(info.value.exc, ConnectionRefusedError)
    assert info.value.sig is not None  # the retry, with the same arguments
    assert info.value.sig.kwargs == reset_kwargs
    assert attempts == [0]
    with pytest.raises(ConnectionRefusedError):  # the last retry gives up with the real error
        send_email.apply(kwargs=reset_kwargs, retries=5)


def test_smtp_down_is_retried_five_times_then_fails(smtp_server, reset_kwargs, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "task_eager_propagates", False)  # follow the retries
    smtp_server.stop()
    attempts = _count_attempts(monkeypatch)
    result = send_email.apply(kwargs=reset_kwargs)
    assert attempts == [0, 1, 2, 3, 4, 5]
    assert result.state == "FAILURE"
    assert isinstance(result.result, ConnectionRefusedError)


def test_a_retry_succeeds_once_smtp_is_back(smtp_server, reset_kwargs, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "task_eager_propagates", False)
    smtp_server.stop()

    def back_on_third(n):
        if n == 3:
            smtp_server.start()

    attempts = _count_attempts(monkeypatch, back_on_third)
    result = send_email.apply(kwargs=reset_kwargs)
    assert attempts == [0, 1, 2]
    assert result.state == "SUCCESS"
    (message,) = smtp_server.wait_for(1)
    assert message["Subject"] == "Reset your Kore password"
    assert message["To"] == "bob@example.test"


def test_a_template_error_is_not_retried(smtp_server, reset_kwargs, monkeypatch):
    monkeypatch.setattr(services, "TEMPLATES", services.TEMPLATES | {"missing"})
    broken = services.Email(to="bob@example.test", subject="x", template="missing", context={})
    monkeypatch.setitem(services.EMAILS, "password_reset", lambda object_id: broken)
    attempts = _count_attempts(monkeypatch)
    result = send_email.apply(kwargs=reset_kwargs, throw=False)
    assert attempts == [0]
    assert result.state == "FAILURE"
    assert isinstance(result.result, TemplateDoesNotExist)
    assert smtp_server.envelopes == []
