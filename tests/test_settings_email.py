"""Outgoing mail from EMAIL_URL or from Django's own EMAIL_HOST variables (as deployment guides
write them), proven by a message reaching a real SMTP server; both at once and disagreeing stops
start-up. Each case runs ``manage.py`` in a fresh process with only the variables it names."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

ROOT = Path(__file__).resolve().parents[1]


class Inbox:
    """aiosmtpd handler keeping each message and the login it came with."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []  # (mail from, login)
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.login.decode() if session.auth_data else ""
        self.messages.append((envelope.mail_from, login))
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any):
        if isinstance(data, LoginPassword):
            self.logins.append((data.login.decode(), data.password.decode()))
            if (data.login, data.password) == (b"mailer", b"s3cret pass"):
                return AuthResult(success=True, auth_data=data)
        return AuthResult(success=False, handled=False)


@pytest.fixture
def smtp() -> Any:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=inbox.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    inbox.port = port  # type: ignore[attr-defined]
    yield inbox
    controller.stop()


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/"),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _arrived(inbox: Inbox, count: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if len(inbox.messages) >= count:
            return True
        time.sleep(0.05)
    return False


def test_email_host_variables_send_through_that_server(smtp, tmp_path: Path) -> None:
    password = tmp_path / "smtp_password"
    password.write_text("s3cret pass\n")
    done = _manage(
        {
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp.port),
            "EMAIL_HOST_USER": "mailer",
            "EMAIL_HOST_PASSWORD_FILE": str(password),
            "EMAIL_USE_TLS": "False",
            "DEFAULT_FROM_EMAIL": "ops@example.com",
        },
        "sendtestemail",
        "someone@example.com",
    )
    assert done.returncode == 0, done.stderr
    assert _arrived(smtp, 1)
    assert smtp.messages == [("ops@example.com", "mailer")]


def test_email_url_still_sends_through_its_server(smtp) -> None:
    url = f"smtp://mailer:s3cret%20pass@127.0.0.1:{smtp.port}"
    done = _manage({"EMAIL_URL": url}, "sendtestemail", "someone@example.com")
    assert done.returncode == 0, done.stderr
    assert _arrived(smtp, 1)
    assert smtp.messages[0][1] == "mailer"


def test_email_url_and_a_different_email_host_refuse_to_start() -> None:
    done = _manage(
        {"EMAIL_URL": "smtp://mailer:pw@smtp.one.example:587", "EMAIL_HOST": "smtp.two.example"},
        "check",
    )
    assert done.returncode != 0
    assert "Outgoing mail is ambiguous: EMAIL_URL and EMAIL_HOST" in done.stderr


def test_email_url_and_agreeing_variables_start() -> None:
    done = _manage(
        {
            "EMAIL_URL": "smtp+tls://mailer:pw@smtp.one.example:587",
            "EMAIL_HOST": "smtp.one.example",
            "EMAIL_USE_TLS": "true",
        },
        "check",
    )
    assert done.returncode == 0, done.stderr


def test_email_port_without_email_host_refuses_to_start() -> None:
    done = _manage({"EMAIL_PORT": "2525"}, "check")
    assert done.returncode != 0
    assert "EMAIL_PORT set without EMAIL_HOST" in done.stderr


def test_a_bad_email_use_tls_refuses_to_start() -> None:
    done = _manage({"EMAIL_HOST": "smtp.one.example", "EMAIL_USE_TLS": "ture"}, "check")
    assert done.returncode != 0
    assert "EMAIL_USE_TLS='ture' is not valid" in done.stderr


def test_kore_from_email_and_a_different_default_from_email_refuse_to_start() -> None:
    done = _manage(
        {"KORE_FROM_EMAIL": "a@example.com", "DEFAULT_FROM_EMAIL": "b@example.com"}, "check"
    )
    assert done.returncode != 0
    assert "The sender is ambiguous" in done.stderr
