"""Off-site copies on S3-compatible storage, encrypted with age before they leave the host.

Each backup becomes ``<prefix><name>/<file>.age``; MANIFEST.txt.age is uploaded last, so a copy
without it is incomplete (an interrupted upload) and is neither fetched nor counted as good.
"""

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyrage  # type: ignore[import-untyped]
from django.conf import settings
from django.utils import timezone

from kore.backups.manifest import NAME as MANIFEST_NAME
from kore.backups.manifest import BackupError
from kore.backups.models import Backup
from kore.backups.private import private_dir, private_tree
from kore.backups.services import PARTIAL, backup_root, retention_plan

SUFFIX = ".age"


def _client() -> Any:
    if not settings.KORE_BACKUP_S3_BUCKET:
        raise BackupError("KORE_BACKUP_S3_BUCKET is not set: there is no off-site storage.")
    # Imported here: boto3 and botocore cost ~20 MB in every process that merely imports this
    # module (the beat tasks do), and only an off-site copy talks to S3.
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    return boto3.client(
        "s3",
        endpoint_url=settings.KORE_BACKUP_S3_ENDPOINT_URL or None,
        region_name=settings.KORE_BACKUP_S3_REGION,
        aws_access_key_id=settings.KORE_BACKUP_S3_ACCESS_KEY_ID or None,
        aws_secret_access_key=settings.KORE_BACKUP_S3_SECRET_ACCESS_KEY or None,
        config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10),
    )


def _recipients() -> list[Any]:
    if not settings.KORE_BACKUP_AGE_RECIPIENTS:
        raise BackupError(
            "KORE_BACKUP_AGE_RECIPIENTS is not set: copies are never sent unencrypted."
        )
    try:
        return [
            pyrage.x25519.Recipient.from_str(r.strip()) for r in settings.KORE_BACKUP_AGE_RECIPIENTS
        ]
    except pyrage.RecipientError as exc:
        raise BackupError(
            f"KORE_BACKUP_AGE_RECIPIENTS holds a key that is not an age key: {exc}"
        ) from exc


def backup_upload(*, backup_id: int) -> str:
    """Encrypt each file of a complete backup and upload it; returns the key prefix."""
    backup = Backup.objects.get(pk=backup_id)
    if backup.status not in Backup.GOOD:
        raise BackupError(f"Backup {backup.pk} is {backup.status}: only whole backups go off-site.")
    recipients = _recipients()
    client = _client()
    directory = Path(backup.path)
    prefix = f"{settings.KORE_BACKUP_S3_PREFIX}{directory.name}/"
    names = sorted(p.name for p in directory.iterdir() if p.name != MANIFEST_NAME)
    with tempfile.TemporaryDirectory(prefix="kore-upload-") as scratch:
        for name in [*names, MANIFEST_NAME]:
            encrypted = Path(scratch) / f"{name}{SUFFIX}"
            pyrage.encrypt_file(str(directory / name), str(encrypted), recipients)
            client.upload_file(
                str(encrypted), settings.KORE_BACKUP_S3_BUCKET, prefix + name + SUFFIX
            )
            encrypted.unlink()
    Backup.objects.filter(pk=backup.pk).update(remote_key=prefix)
    return prefix


def _remote_objects() -> dict[str, list[str]]:
    """Backup name → the object keys under it."""
    client = _client()
    found: dict[str, list[str]] = {}
    paginator = client.get_paginator("list_objects_v2")
    prefix = settings.KORE_BACKUP_S3_PREFIX
    for page in paginator.paginate(Bucket=settings.KORE_BACKUP_S3_BUCKET, Prefix=prefix):
        for item in page.get("Contents", []):
            name, _, _ = item["Key"][len(prefix) :].partition("/")
            found.setdefault(name, []).append(item["Key"])
    return found


def remote_list() -> list[str]:
    """Names of the whole off-site copies (those whose manifest arrived), newest first."""
    objects = _remote_objects()
    return sorted(
        (
            name
            for name, keys in objects.items()
            if any(k.endswith(MANIFEST_NAME + SUFFIX) for k in keys)
        ),
        reverse=True,
    )


def remote_retention_apply(*, environment: str) -> list[str]:
    """Retention of the off-site copies of one environment (their own age limit); the names
    deleted."""
    objects = {n: k for n, k in _remote_objects().items() if n.startswith(f"{environment}_")}
    doomed = retention_plan(
        [(n, any(k.endswith(MANIFEST_NAME + SUFFIX) for k in keys)) for n, keys in objects.items()],
        keep_last=settings.KORE_BACKUP_KEEP_LAST,
        keep_days=settings.KORE_BACKUP_REMOTE_KEEP_DAYS,
        now=timezone.now(),
    )
    client = _client()
    for name in doomed:
        for start in range(0, len(objects[name]), 1000):
            batch = [{"Key": key} for key in objects[name][start : start + 1000]]
            client.delete_objects(Bucket=settings.KORE_BACKUP_S3_BUCKET, Delete={"Objects": batch})
    return doomed


def backup_fetch(*, name: str) -> Path:
    """Download and decrypt the off-site copy ``name`` into KORE_BACKUP_DIR/<name>/."""
    if "/" in name or name.startswith("."):
        raise BackupError(f"{name!r} is not a backup name.")
    if not settings.KORE_BACKUP_AGE_IDENTITY:
        raise BackupError("KORE_BACKUP_AGE_IDENTITY (or _FILE) is needed to decrypt a copy.")
    try:
        identity = pyrage.x25519.Identity.from_str(settings.KORE_BACKUP_AGE_IDENTITY.strip())
    except pyrage.IdentityError as exc:
        raise BackupError(f"KORE_BACKUP_AGE_IDENTITY is not an age identity: {exc}") from exc
    keys = _remote_objects().get(name, [])
    if not any(k.endswith(MANIFEST_NAME + SUFFIX) for k in keys):
        raise BackupError(f"No whole off-site copy named {name}.")
    root = backup_root()
    final = root / name
    if final.exists():
        raise BackupError(f"{final} already exists; move it away first.")
    partial = root / f"{PARTIAL}{name}"
    private_dir(root, exist_ok=True)
    private_dir(partial)
    client = _client()
    try:
        with tempfile.TemporaryDirectory(prefix="kore-fetch-") as scratch:
            for key in keys:
                filename = key.rpartition("/")[2].removesuffix(SUFFIX)
                encrypted = Path(scratch) / "part.age"
                client.download_file(settings.KORE_BACKUP_S3_BUCKET, key, str(encrypted))
                pyrage.decrypt_file(str(encrypted), str(partial / filename), [identity])
        private_tree(partial)  # pyrage writes with the process umask
        partial.rename(final)
    except (pyrage.DecryptError, OSError) as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise BackupError(f"Could not fetch {name}: {exc}") from exc
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final
