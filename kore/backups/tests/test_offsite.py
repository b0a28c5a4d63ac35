"""Off-site copies against moto's S3 server (a real HTTP server in its own process)."""

import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import boto3
import pyrage
import pytest
from django.core.management import call_command

from kore.backups import offsite
from kore.backups.services import backup_create, backup_verify
from kore.core.testing_s3 import moto_s3_server
from kore.ledger.models import Transaction

from .conftest import Ledger

BUCKET = "kore-backups-test"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def offsite_settings(settings, s3_endpoint: str) -> pyrage.x25519.Identity:
    identity = pyrage.x25519.Identity.generate()
    settings.KORE_BACKUP_S3_BUCKET = BUCKET
    settings.KORE_BACKUP_S3_PREFIX = "site-a/"
    settings.KORE_BACKUP_S3_ENDPOINT_URL = s3_endpoint
    settings.KORE_BACKUP_S3_ACCESS_KEY_ID = "testing"
    settings.KORE_BACKUP_S3_SECRET_ACCESS_KEY = "testing"
    settings.KORE_BACKUP_AGE_RECIPIENTS = [str(identity.to_public())]
    settings.KORE_BACKUP_AGE_IDENTITY = str(identity)
    settings.KORE_BACKUP_KEEP_LAST = 2
    settings.KORE_BACKUP_REMOTE_KEEP_DAYS = 0
    client = offsite._client()
    client.create_bucket(Bucket=BUCKET)
    yield identity
    for key in [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]:
        client.delete_object(Bucket=BUCKET, Key=key)
    client.delete_bucket(Bucket=BUCKET)


def test_encrypted_copies_expire_and_come_back_for_a_restore(
    ledger: Ledger, offsite_settings, backup_dirs: Path
) -> None:
    names = []
    for _ in range(3):
        backup = backup_create()
        offsite.backup_upload(backup_id=backup.pk)
        names.append(Path(backup.path).name)
    assert offsite.remote_list() == sorted(names, reverse=True)

    raw = boto3.client(
        "s3",
        endpoint_url=offsite._client().meta.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    body = raw.get_object(Bucket=BUCKET, Key=f"site-a/{names[-1]}/database.dump.age")["Body"]
    assert body.read(21) == b"age-encryption.org/v1"  # never the plain dump

    assert offsite.remote_retention_apply(environment="test") == [names[0]]
    assert offsite.remote_list() == [names[2], names[1]]

    shutil.rmtree(backup_dirs)  # the host is lost
    Transaction.objects.filter(amount="12.50").delete()
    call_command("backup", "--fetch", names[2])
    fetched = backup_dirs / names[2]
    assert stat.S_IMODE(backup_dirs.stat().st_mode) == 0o700
    assert stat.S_IMODE(fetched.stat().st_mode) == 0o700
    assert {stat.S_IMODE(f.stat().st_mode) for f in fetched.iterdir()} == {0o600}
    assert backup_verify(path=fetched) is not None
    call_command("restore", str(fetched), "--yes")
    assert Transaction.objects.filter(amount="12.50").count() == 4


def test_fetch_with_the_wrong_identity_is_refused(
    ledger: Ledger, offsite_settings, backup_dirs: Path, settings
) -> None:
    backup = backup_create()
    offsite.backup_upload(backup_id=backup.pk)
    shutil.rmtree(backup.path)
    settings.KORE_BACKUP_AGE_IDENTITY = str(pyrage.x25519.Identity.generate())
    with pytest.raises(offsite.BackupError, match="Could not fetch"):
        offsite.backup_fetch(name=Path(backup.path).name)
    assert list(backup_dirs.iterdir()) == []
