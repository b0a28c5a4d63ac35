"""Typed settings: a boolean, number, choice or rate that does not parse stops start-up, naming
the variable and what it accepts (django-environ read any unknown word as False)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice, env_float, env_int, env_rate

ROOT = Path(__file__).resolve().parents[1]
BOOL_HELP = "expected one of true/false, 1/0, yes/no, on/off (any case)"


def _start(**overrides: str) -> subprocess.CompletedProcess[str]:
    """``django.setup()`` with the production settings in a fresh process (no database needed)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/"),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "kore.example.com",
        "DATABASE_URL": "postgres://kore:kore@127.0.0.1:1/kore",  # never connected to
        **overrides,
    }
    code = "import django; django.setup(); from django.conf import settings; print('started')"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SECURE_SSL_REDIRECT", "ture", BOOL_HELP),
        ("DEBUG", "nope", BOOL_HELP),
        ("SECURE_HSTS_PRELOAD", "2", BOOL_HELP),
        ("KORE_OPEN_SIGNUP", "enabled", BOOL_HELP),
        ("SECURE_HSTS_SECONDS", "1y", "expected a whole number of at least 0"),
        ("CONN_MAX_AGE", "-1", "expected a whole number of at least 0"),
        ("KORE_ATTACHMENT_MAX_BYTES", "50MB", "expected a whole number of at least 1"),
        ("SENTRY_TRACES_SAMPLE_RATE", "1.5", "expected a number from 0.0 to 1.0"),
        ("SENTRY_TRACES_SAMPLE_RATE", "nan", "expected a number from 0.0 to 1.0"),
        ("MEDIA_STORAGE", "s4", "expected one of filesystem, s3"),
        ("KORE_LOG_FORMAT", "xml", "expected one of text, json"),
        ("DJANGO_LOG_LEVEL", "LOUD", "expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("KORE_THROTTLE_LOGIN_IP", "10/fortnight", "expected requests per period"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(name, value, expected):
    result = _start(**{name: value})
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert f"{name}={value!r} is not valid: {expected}" in result.stderr


def test_every_accepted_spelling_starts():
    result = _start(
        SECURE_SSL_REDIRECT="OFF",
        SECURE_HSTS_PRELOAD="No",
        KORE_OPEN_SIGNUP="1",
        SECURE_HSTS_SECONDS="0",
        KORE_LOG_FORMAT="JSON",
        DJANGO_LOG_LEVEL="warning",
        KORE_THROTTLE_LOGIN_IP="5/minute",
        SENTRY_TRACES_SAMPLE_RATE="0.25",
    )
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[("true", True), ("TRUE", True), ("1", True), ("Yes", True), ("on", True)],
        *[("false", False), ("False", False), ("0", False), ("NO", False), ("off", False)],
    ],
)
def test_env_bool_reads_each_spelling(monkeypatch, value, expected):
    monkeypatch.setenv("KORE_TEST_FLAG", value)
    assert env_bool("KORE_TEST_FLAG", default=not expected) is expected


@pytest.mark.parametrize("value", ["", "   "])
def test_an_unset_or_empty_variable_takes_the_default(monkeypatch, value):
    monkeypatch.setenv("KORE_TEST_FLAG", value)
    assert env_bool("KORE_TEST_FLAG", default=True) is True
    assert env_int("KORE_TEST_FLAG", default=7) == 7
    monkeypatch.delenv("KORE_TEST_FLAG")
    assert env_choice("KORE_TEST_FLAG", default="a", choices=("a", "b")) == "a"


def test_env_choice_returns_the_documented_spelling(monkeypatch):
    monkeypatch.setenv("KORE_TEST_CHOICE", "S3")
    choices = ("filesystem", "s3")
    assert env_choice("KORE_TEST_CHOICE", default="filesystem", choices=choices) == "s3"


def test_env_int_enforces_its_bounds(monkeypatch):
    monkeypatch.setenv("KORE_TEST_NUMBER", "70000")
    with pytest.raises(ImproperlyConfigured, match="from 0 to 65535"):
        env_int("KORE_TEST_NUMBER", default=0, min_value=0, max_value=65535)


def test_env_float_refuses_a_word(monkeypatch):
    monkeypatch.setenv("KORE_TEST_NUMBER", "half")
    with pytest.raises(ImproperlyConfigured, match="KORE_TEST_NUMBER='half'"):
        env_float("KORE_TEST_NUMBER", default=0.0)


@pytest.mark.parametrize("value", ["0/min", "ten/min", "10", "10/min/extra", "-1/hour"])
def test_env_rate_refuses_what_drf_cannot_count(monkeypatch, value):
    monkeypatch.setenv("KORE_TEST_RATE", value)
    with pytest.raises(ImproperlyConfigured, match="requests per period"):
        env_rate("KORE_TEST_RATE", default="10/min")
