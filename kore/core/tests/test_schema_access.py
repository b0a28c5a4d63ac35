"""Who may read /api/v1/schema/ and the docs pages: anyone with KORE_API_DOCS_PUBLIC (the embedded
runtime), else signed-in callers only; to anyone else they do not exist (404)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from kore.core.testing import assert_error, client_for
from kore.orgs.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]
SCHEMA = "/api/v1/schema/"
PAGES = (SCHEMA, "/api/v1/docs/", "/api/v1/docs/redoc/")


@pytest.fixture
def private_docs(settings):
    settings.KORE_API_DOCS_PUBLIC = False


@pytest.mark.parametrize("url", PAGES)
def test_public_docs_answer_anyone(url):
    assert Client().get(url).status_code == 200


@pytest.mark.parametrize("url", PAGES)
def test_private_docs_do_not_exist_for_an_anonymous_caller(private_docs, url):
    response = Client().get(url)
    assert response.status_code == 404
    assert b"openapi" not in response.content.lower()
    assert b"swagger" not in response.content.lower()


def test_the_private_schema_is_a_kore_404_for_the_api(private_docs):
    assert_error(client_for(None).get(SCHEMA, HTTP_ACCEPT="application/json"), 404)


@pytest.mark.parametrize("url", PAGES)
def test_private_docs_open_for_a_signed_in_browser(private_docs, url):
    client = Client()
    client.force_login(UserFactory())
    assert client.get(url).status_code == 200


def test_the_private_schema_opens_for_a_jwt(private_docs):
    response = client_for(UserFactory()).get(SCHEMA, HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Kore API"


@pytest.mark.parametrize(("value", "expected"), [(None, "False"), ("true", "True")])
def test_production_keeps_the_docs_private_unless_asked(value, expected):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "kore.example.com",
        "DATABASE_URL": "postgres://kore:kore@127.0.0.1:1/kore",  # never connected to
    }
    if value is not None:
        env["KORE_API_DOCS_PUBLIC"] = value
    code = "import django; django.setup(); from django.conf import settings as s; "
    code += "print(s.KORE_API_DOCS_PUBLIC)"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == expected
