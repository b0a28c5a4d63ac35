"""Production settings: `check --deploy` is clean, and unsafe configurations refuse to start.

Each case runs ``manage.py`` in a fresh process with only the example production environment
(.envs/.env.production.example), so nothing from the test environment leaks in. No database is
needed.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / ".envs" / ".env.production.example"
REFUSES = "refuses to start"


def _example_env() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in EXAMPLE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        values[name.strip()] = value.strip()
    return values


def _secret() -> str:
    return secrets.token_hex(32)  # 64 random hex characters


def _run(
    overrides: dict[str, str | None], *args: str, command: str = "check"
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}
    env |= _example_env()
    env["SECRET_KEY"] = _secret()
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "manage.py", command, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _deploy_check(overrides: dict[str, str | None]) -> subprocess.CompletedProcess[str]:
    return _run(overrides, "--deploy", "--fail-level", "WARNING")


def test_example_env_is_production_with_a_placeholder_secret():
    example = _example_env()
    assert example["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    assert example["SECRET_KEY"] == "change-me"
    assert "DATABASE_URL" in example


def test_deploy_check_is_clean():
    result = _deploy_check({})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr


def test_deploy_check_needs_no_database():
    # Nothing listens on this port; the check must still pass.
    result = _deploy_check({"DATABASE_URL": "postgres://kore:kore@127.0.0.1:9/kore"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_hsts_preload_opt_in_is_still_clean():
    result = _deploy_check({"SECURE_HSTS_PRELOAD": "True"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_ssl_redirect_off_is_a_deploy_warning():
    # The check really fails on warnings: turning off a safety setting is caught.
    result = _deploy_check({"SECURE_SSL_REDIRECT": "False"})
    assert result.returncode != 0
    assert "security.W008" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("case", "overrides", "reason"),
    [
        ("debug on", {"DEBUG": "True"}, "DEBUG"),
        ("debug on (1)", {"DEBUG": "1"}, "DEBUG"),
        ("secret missing", {"SECRET_KEY": None}, "SECRET_KEY"),
        ("secret empty", {"SECRET_KEY": ""}, "SECRET_KEY"),
        ("secret change-me", {"SECRET_KEY": "change-me"}, "SECRET_KEY"),
        ("secret django-insecure", {"SECRET_KEY": "django-insecure-" + "x" * 60}, "SECRET_KEY"),
        ("secret too short", {"SECRET_KEY": secrets.token_hex(10)}, "SECRET_KEY"),
        ("secret all spaces", {"SECRET_KEY": " " * 64}, "SECRET_KEY"),
        ("secret one character", {"SECRET_KEY": "a" * 64}, "SECRET_KEY"),
        ("hosts empty", {"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
        ("hosts unset", {"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS"),
        ("database unset", {"DATABASE_URL": None}, "DATABASE_URL"),
        ("database empty", {"DATABASE_URL": ""}, "DATABASE_URL"),
        ("webhooks private", {"KORE_WEBHOOK_ALLOW_PRIVATE": "true"}, "KORE_WEBHOOK_ALLOW_PRIVATE"),
        ("webhooks plain http", {"KORE_WEBHOOK_REQUIRE_HTTPS": "false"}, "KORE_WEBHOOK_REQUIRE"),
    ],
)
def test_refuses_to_start(case, overrides, reason):
    result = _deploy_check(overrides)
    output = result.stdout + result.stderr
    assert result.returncode != 0, (case, output)
    assert REFUSES in output, (case, output[-2000:])
    assert reason in output, (case, output[-2000:])


def test_refusal_applies_to_every_command_not_only_check():
    result = _run({"DEBUG": "True"}, command="migrate")
    assert result.returncode != 0
    assert REFUSES in result.stderr


def test_secret_key_file(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(_secret() + "\n")
    result = _deploy_check({"SECRET_KEY": None, "SECRET_KEY_FILE": str(key_file)})
    assert result.returncode == 0, result.stdout + result.stderr


def test_secret_key_file_wins_and_is_checked(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text("change-me\n")
    result = _deploy_check({"SECRET_KEY_FILE": str(key_file)})  # a good SECRET_KEY is also set
    assert result.returncode != 0
    assert REFUSES in result.stdout + result.stderr


def test_secret_key_file_value_is_used(tmp_path):
    key = _secret()
    key_file = tmp_path / "secret_key"
    key_file.write_text(key + "\n")
    result = _run(
        {"SECRET_KEY": None, "SECRET_KEY_FILE": str(key_file)},
        "-c",
        "from django.conf import settings; print(settings.SECRET_KEY)",
        command="shell",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == key


def test_missing_secret_key_file_is_a_clear_error(tmp_path):
    result = _deploy_check({"SECRET_KEY": None, "SECRET_KEY_FILE": str(tmp_path / "absent")})
    assert result.returncode != 0
    assert "SECRET_KEY_FILE" in result.stderr


PROBE = (
    "from django.test import Client; "
    "print(Client().get('/api/v1/health/live/', HTTP_HOST={host!r}).status_code)"
)


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000"])
def test_health_probe_by_address_is_answered(host):
    """Docker's HEALTHCHECK and Compose's healthcheck call Gunicorn as 127.0.0.1:8000."""
    result = _run({}, "-c", PROBE.format(host=host), command="shell")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "200", result.stdout


def test_host_outside_allowed_and_probe_hosts_is_refused():
    result = _run({}, "-c", PROBE.format(host="evil.example"), command="shell")
    assert result.stdout.strip().splitlines()[-1] == "400", result.stdout


def test_probe_hosts_can_be_replaced():
    result = _run({"KORE_PROBE_HOSTS": "probe.internal"}, "-c",
                  PROBE.format(host="127.0.0.1:8000"), command="shell")  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == "400", result.stdout
