"""What the email task puts on the broker (a kind and an id, never an address, link or token),
and a real worker building and delivering working links from those ids."""

import json
import os
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from celery.signals import before_task_publish

from config.celery_app import app as celery_app
from kore.core.testing import client_for
from kore.orgs.models import Membership, User
from kore.orgs.tests.factories import PASSWORD, UserFactory

from .conftest import PUBLIC_URL, SmtpServer, email_broker_url, parts

RESET = "/api/v1/auth/password-reset/"
CONFIRM = "/api/v1/auth/password-reset/confirm/"
NEW = "a-much-better-passphrase-42"


@pytest.fixture
def published(settings, monkeypatch) -> Iterator[list[dict[str, Any]]]:
    """Every message published to the real broker (eager mode off), as it is sent."""
    from kore.imports.tests.conftest import _use_broker

    settings.KORE_PUBLIC_URL = PUBLIC_URL
    monkeypatch.setattr(celery_app.conf, "task_always_eager", False)
    broker = email_broker_url()
    previous = os.environ.get("CELERY_BROKER_URL")
    _use_broker(broker)
    messages: list[dict[str, Any]] = []

    def record(sender: str, body: Any, headers: dict[str, Any], **extra: Any) -> None:
        messages.append({"task": sender, "body": body, "headers": headers})

    before_task_publish.connect(record, weak=False)
    try:
        yield messages
    finally:
        before_task_publish.disconnect(record)
        redis.Redis.from_url(broker).flushdb()  # no worker is to run these
        _use_broker(previous)


def email_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["task"].startswith("kore.notifications.")]


def wire(message: dict[str, Any]) -> str:
    """Everything the broker receives for a message: body and headers (with their reprs)."""
    return json.dumps(message, default=str)


@pytest.mark.django_db(transaction=True)
def test_a_password_reset_puts_only_a_kind_and_a_user_id_on_the_broker(published):
    user = UserFactory(email="ada@example.test", full_name="Ada Lovelace")
    assert client_for(None).post(RESET, {"email": user.email}).status_code == 202

    (message,) = email_messages(published)
    args, kwargs, _ = message["body"]
    assert (tuple(args), kwargs) == ((), {"kind": "password_reset", "object_id": user.pk})
    sent = wire(message)
    for secret in ("ada@example.test", "Ada Lovelace", "https://", "password-reset", "token="):
        assert secret not in sent


@pytest.mark.django_db(transaction=True)
def test_an_invitation_puts_neither_its_token_nor_its_link_on_the_broker(world, published):
    response = client_for(world.admin).post(
        f"/api/v1/orgs/{world.org.slug}/invitations/", {"email": "new@example.test"}
    )
    assert response.status_code == 201, response.content
    token = response.json()["token"]

    (message,) = email_messages(published)
    args, kwargs, _ = message["body"]
    assert (tuple(args), kwargs) == ((), {"kind": "invitation", "object_id": response.json()["id"]})
    sent = wire(message)
    for secret in (token, "new@example.test", world.org.name, "https://", "accept"):
        assert secret not in sent


def wait_for_mail(server: SmtpServer, to: str, timeout: float = 30) -> Any:
    """The first message to ``to`` that the worker delivered, waiting up to ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in server.messages:
            if message["To"] == to:
                return message
        time.sleep(0.1)
    raise AssertionError(f"no email to {to} within {timeout} s")


@pytest.mark.django_db(transaction=True)
def test_a_worker_emails_a_password_reset_link_that_works(mail_worker, settings):
    settings.KORE_PUBLIC_URL = PUBLIC_URL
    user = UserFactory(email="grace@example.test")
    assert client_for(None).post(RESET, {"email": user.email}).status_code == 202

    text, html = parts(wait_for_mail(mail_worker, "grace@example.test"))
    url = re.search(r"https://kore\.test/password-reset/confirm/\?\S+", text).group(0)
    query = parse_qs(urlsplit(url).query)
    confirm = {"uid": query["uid"][0], "token": query["token"][0], "password": NEW}
    assert client_for(None).post(CONFIRM, confirm, format="json").status_code == 204
    assert User.objects.get(pk=user.pk).check_password(NEW)
    assert not User.objects.get(pk=user.pk).check_password(PASSWORD)


@pytest.mark.django_db(transaction=True)
def test_a_worker_emails_the_invitation_link_the_inviter_was_shown(world, mail_worker, settings):
    settings.KORE_PUBLIC_URL = PUBLIC_URL
    response = client_for(world.admin).post(
        f"/api/v1/orgs/{world.org.slug}/invitations/", {"email": "lin@example.test"}
    )
    assert response.status_code == 201, response.content
    accept_url = response.json()["accept_url"]

    text, html = parts(wait_for_mail(mail_worker, "lin@example.test"))
    assert accept_url in text
    token = parse_qs(urlsplit(accept_url).query)["token"][0]
    accepted = client_for(None).post(
        "/api/v1/invitations/accept/", {"token": token, "password": NEW}, format="json"
    )
    assert accepted.status_code == 201, accepted.content
    assert Membership.objects.filter(organization=world.org, user__email="lin@example.test")
