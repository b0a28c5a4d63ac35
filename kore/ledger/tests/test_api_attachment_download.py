"""GET /attachments/{id}/download/: streamed by Django, or handed to Nginx; never public."""

import re

import pytest
from django.core.files.storage import default_storage

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Attachment
from kore.ledger.tests.test_api_attachments import csv_bytes, pdf_bytes, png_bytes, post_file, url


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.KORE_ACCEL_REDIRECT = False
    return settings.MEDIA_ROOT


def make(world, name: str, content: bytes) -> Attachment:
    response = post_file(world, world.member, name, content)
    assert response.status_code == 201, response.content
    return Attachment.objects.get(pk=response.json()["id"])


def download(world, attachment_id: int) -> str:
    return f"{url(world)}{attachment_id}/download/"


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("receipt.pdf", pdf_bytes(pad_to=300_000), "application/pdf"),
        ("photo.png", png_bytes(), "image/png"),
        ("statement.csv", csv_bytes(), "text/csv"),
    ],
    ids=["pdf", "png", "csv"],
)
def test_streams_the_exact_bytes(world, name, content, content_type):
    attachment = make(world, name, content)
    response = client_for(world.viewer).get(download(world, attachment.pk))
    assert response.status_code == 200
    assert response.streaming
    assert body_of(response) == content
    assert response["Content-Type"] == content_type
    assert response["Content-Length"] == str(len(content))
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert "X-Accel-Redirect" not in response


def test_type_comes_from_content_not_name(world):
    attachment = make(world, "scan", pdf_bytes())
    response = client_for(world.member).get(download(world, attachment.pk))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="scan"'
    assert body_of(response) == pdf_bytes()


def test_non_ascii_name_is_encoded(world):
    attachment = make(world, "reçu café.pdf", pdf_bytes())
    response = client_for(world.member).get(download(world, attachment.pk))
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''re%C3%A7u%20caf%C3%A9.pdf"
    )


def test_any_accept_header_works(world):
    attachment = make(world, "receipt.pdf", pdf_bytes())
    response = client_for(world.member).get(
        download(world, attachment.pk), HTTP_ACCEPT="application/pdf"
    )
    assert response.status_code == 200
    assert body_of(response) == pdf_bytes()


def test_accel_redirect_hands_the_file_to_nginx(world, settings):
    attachment = make(world, "receipt.pdf", pdf_bytes())
    settings.KORE_ACCEL_REDIRECT = True
    response = client_for(world.viewer).get(download(world, attachment.pk))
    assert response.status_code == 200
    assert not response.streaming
    assert response.content == b""
    assert response["X-Accel-Redirect"] == f"/media/{attachment.path}"
    assert re.fullmatch(
        rf"/media/attachments/{world.org.pk}/[0-9a-f]{{32}}", response["X-Accel-Redirect"]
    )
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="receipt.pdf"'


def test_accel_redirect_still_checks_membership(world, settings):
    attachment = make(world, "receipt.pdf", pdf_bytes())
    settings.KORE_ACCEL_REDIRECT = True
    response = client_for(world.outsider).get(download(world, attachment.pk))
    assert_error(response, 404, "not_found")
    assert "X-Accel-Redirect" not in response


def test_media_url_serves_nothing(world, media_root):
    attachment = make(world, "receipt.pdf", pdf_bytes())
    assert (media_root / attachment.path).is_file()
    for path in (f"/media/{attachment.path}", "/media/", f"/media/attachments/{world.org.pk}/"):
        response = client_for(world.member).get(path)
        assert_error(response, 404, "not_found")
        assert response["Content-Type"] == "application/json"
        assert pdf_bytes() not in response.content


def test_other_organisation_is_404(world):
    attachment = make(world, "receipt.pdf", pdf_bytes())
    assert_other_org_is_404(world.outsider, "get", download(world, attachment.pk))
    foreign = f"/api/v1/orgs/{world.other_org.slug}/attachments/{attachment.pk}/download/"
    assert_error(client_for(world.outsider).get(foreign), 404, "not_found")


def test_unauthenticated_is_401(world):
    attachment = make(world, "receipt.pdf", pdf_bytes())
    assert_error(client_for(None).get(download(world, attachment.pk)), 401, "not_authenticated")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_wrong_method_is_405(world, method):
    attachment = make(world, "receipt.pdf", pdf_bytes())
    response = getattr(client_for(world.member), method)(download(world, attachment.pk))
    assert_error(response, 405, "method_not_allowed")


def test_unknown_id_is_404(world):
    assert_error(client_for(world.member).get(download(world, 987_654)), 404, "not_found")


def test_missing_file_is_404(world):
    attachment = make(world, "receipt.pdf", pdf_bytes())
    default_storage.delete(attachment.path)
    assert_error(client_for(world.member).get(download(world, attachment.pk)), 404, "not_found")
