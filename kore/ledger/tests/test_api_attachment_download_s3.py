"""Attachments with MEDIA_STORAGE=s3 (django-storages) against moto's S3 server over real HTTP."""

import time
import urllib.request
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from kore.core.testing import assert_other_org_is_404, client_for
from kore.core.testing_s3 import moto_s3_server
from kore.ledger.models import Attachment
from kore.ledger.tests.test_api_attachments import pdf_bytes, post_file, url

BUCKET = "kore-media-test"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3(settings, s3_endpoint: str):
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    settings.MEDIA_STORAGE = "s3"
    settings.KORE_MEDIA_S3_REDIRECT = True
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "location": "media",
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "default_acl": None,
                "querystring_auth": True,
                "querystring_expire": settings.KORE_MEDIA_S3_URL_SECONDS,
                "file_overwrite": False,
            },
        },
    }
    yield client
    for key in [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]:
        client.delete_object(Bucket=BUCKET, Key=key)
    client.delete_bucket(Bucket=BUCKET)


def _upload(world, content: bytes) -> Attachment:
    response = post_file(world, world.member, "receipt.pdf", content)
    assert response.status_code == 201, response.content
    return Attachment.objects.get(pk=response.json()["id"])


def test_upload_lands_in_the_private_bucket(world, s3) -> None:
    content = pdf_bytes(b"s3")
    attachment = _upload(world, content)
    stored = s3.get_object(Bucket=BUCKET, Key=f"media/{attachment.path}")["Body"].read()
    assert stored == content
    anonymous = f"{s3.meta.endpoint_url}/{BUCKET}/media/{attachment.path}"
    with pytest.raises(urllib.error.HTTPError):  # no signature, no file
        urllib.request.urlopen(anonymous, timeout=10)  # noqa: S310 - loopback moto


def test_download_redirects_to_a_short_lived_signed_url(world, s3, settings) -> None:
    content = pdf_bytes(b"signed")
    attachment = _upload(world, content)
    response = client_for(world.viewer).get(f"{url(world)}{attachment.pk}/download/")
    assert response.status_code == 302
    location = response["Location"]
    expires = int(parse_qs(urlsplit(location).query)["Expires"][0])
    assert 0 < expires - time.time() <= settings.KORE_MEDIA_S3_URL_SECONDS + 5  # short-lived
    assert response["Cache-Control"] == "private, no-store"
    with urllib.request.urlopen(location, timeout=10) as fetched:  # noqa: S310 - loopback moto
        assert fetched.read() == content
        assert fetched.headers["Content-Disposition"] == 'attachment; filename="receipt.pdf"'
        assert fetched.headers["Content-Type"] == "application/pdf"


def test_outsider_gets_no_url(world, s3) -> None:
    attachment = _upload(world, pdf_bytes(b"private"))
    assert_other_org_is_404(world.outsider, "get", f"{url(world)}{attachment.pk}/download/")


def test_download_streams_when_redirects_are_off(world, s3, settings) -> None:
    settings.KORE_MEDIA_S3_REDIRECT = False
    content = pdf_bytes(b"streamed")
    attachment = _upload(world, content)
    response = client_for(world.member).get(f"{url(world)}{attachment.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Disposition"] == 'attachment; filename="receipt.pdf"'


def test_media_storage_s3_is_configured_from_the_environment() -> None:
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "MEDIA_STORAGE": "s3",
        "KORE_MEDIA_S3_BUCKET": "uploads",
        "KORE_MEDIA_S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "KORE_MEDIA_S3_URL_SECONDS": "30",
    }
    code = (
        "from django.conf import settings as s; d = s.STORAGES['default']; o = d['OPTIONS'];"
        "print(d['BACKEND'], o['bucket_name'], o['endpoint_url'], o['querystring_expire'],"
        " o['default_acl'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == [
        "storages.backends.s3.S3Storage",
        "uploads",
        "http://127.0.0.1:9",
        "30",
        "None",
    ]
