"""media.tar.gz and config.tar.gz: what a backup holds besides the database."""

import io
import os
import re
import tarfile
from pathlib import Path

from django.conf import settings

from config.env import BASE_DIR
from kore.backups.private import private_open

# Deployment files worth having beside the dump (none holds a secret).
CONFIG_FILES = (
    "production.yml",
    "production.lowmem.yml",
    ".envs/.env.production.example",
    "deploy",
    "docker/production",
    "scripts/deploy.sh",
    "scripts/nginx-health.sh",
)
# Variables that are (or may contain) secrets never go into environment.txt.
_SECRET = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|_KEY|DSN|URL|IDENTITY|CREDENTIAL", re.I)
_PREFIXES = ("KORE_", "DJANGO_", "POSTGRES_DB", "POSTGRES_USER", "GUNICORN_", "CELERY_", "NGINX_")


def media_archive(out: Path) -> None:
    """Every file under MEDIA_ROOT as media/…, or an empty archive when there is none."""
    root = Path(settings.MEDIA_ROOT)
    with (
        private_open(out) as handle,
        tarfile.open(fileobj=handle, mode="w:gz", compresslevel=6) as tar,
    ):
        # With MEDIA_STORAGE=s3 the files live in the bucket (use its versioning/replication).
        if settings.MEDIA_STORAGE == "filesystem" and root.is_dir():
            tar.add(root, arcname="media")


def media_extract(archive: Path) -> int:
    """Unpack media/… into MEDIA_ROOT (existing files are overwritten); the number of files."""
    root = Path(settings.MEDIA_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    count = 0
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.name.startswith("media/") or not member.isfile():
                continue
            member.name = member.name.removeprefix("media/")
            # The "data" filter refuses absolute paths, links out of the tree and device files.
            tar.extract(member, root, filter="data")
            count += 1
    return count


def environment_text() -> str:
    """Kore's non-secret variables as NAME=value lines (what this deployment was set to)."""
    lines = [
        f"{name}={value}"
        for name, value in sorted(os.environ.items())
        if name.startswith(_PREFIXES) and not _SECRET.search(name)
    ]
    return "\n".join(lines) + "\n"


def config_archive(out: Path, *, env_file: Path | None) -> None:
    """Deployment files, the non-secret environment and, only when asked, the env file."""
    base = BASE_DIR
    with private_open(out) as handle, tarfile.open(fileobj=handle, mode="w:gz") as tar:
        text = environment_text().encode()
        info = tarfile.TarInfo("config/environment.txt")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
        for name in CONFIG_FILES:
            if (base / name).exists():
                tar.add(base / name, arcname=f"config/{name}")
        if env_file is not None:
            tar.add(env_file, arcname=f"config/env/{env_file.name}")
