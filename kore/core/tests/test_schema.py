"""The OpenAPI schema documents every error code; the docs pages load nothing from a CDN."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from kore.core.exceptions import ERROR_CODES

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def schema(db) -> dict:
    response = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Kore API"
    assert "/api/v1/auth/token/" in schema["paths"]


def test_schema_yaml_by_default(db):
    response = Client().get("/api/v1/schema/")
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


def test_error_component_lists_every_code(schema):
    error = schema["components"]["schemas"]["Error"]
    code = error["properties"]["error"]["properties"]["code"]
    assert set(code["enum"]) == set(ERROR_CODES)
    for name, (status, _text) in ERROR_CODES.items():
        assert f"`{name}` ({status})" in error["description"], name
    assert set(error["properties"]["error"]["required"]) == {
        "code",
        "message",
        "fields",
        "request_id",
    }


def test_every_operation_documents_errors(schema):
    ref = "#/components/schemas/Error"
    for route, item in schema["paths"].items():
        for method, operation in item.items():
            for status in ("400", "401", "403", "404", "429"):
                content = operation["responses"][status]["content"]["application/json"]
                assert content["schema"]["$ref"] == ref, (route, method, status)
            if method in ("post", "put", "patch", "delete"):
                assert "422" in operation["responses"], (route, method)


def test_bearer_schemes_documented(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["jwt"]["scheme"] == "bearer"
    assert schemes["apiToken"]["scheme"] == "bearer"


def test_spectacular_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning" not in result.stderr, result.stderr[-3000:]
    assert out.read_text().startswith("openapi: 3.")


_ASSET = re.compile(r"""<(?:script|link)\b[^>]*?(?:src|href)=["']([^"']+)["']""", re.IGNORECASE)


@pytest.mark.parametrize("url", ["/api/v1/docs/", "/api/v1/docs/redoc/"])
def test_docs_use_only_local_assets(db, url):
    response = Client().get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assets = _ASSET.findall(html)
    assert any(a.endswith(".js") for a in assets), assets
    for asset in assets:
        assert asset.startswith("/static/"), asset
    assert not re.search(r"(?:src|href)=[\"']?(?:https?:)?//", html), html
    assert "googleapis" not in html


@pytest.mark.parametrize("url", ["/api/v1/docs/", "/api/v1/docs/redoc/"])
def test_docs_assets_exist(db, url):
    from django.contrib.staticfiles import finders

    html = Client().get(url).content.decode()
    for asset in _ASSET.findall(html):
        assert finders.find(asset.removeprefix("/static/")), asset
