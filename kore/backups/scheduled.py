"""What beat runs: the nightly backup (with off-site copy and retention) and the weekly verify."""

import logging
from pathlib import Path

from django.conf import settings

from kore.backups import offsite
from kore.backups.models import Backup
from kore.backups.services import (
    BackupRunning,
    backup_create,
    backup_for_task,
    backup_lock,
    backup_retention_apply,
    backup_verify,
)

logger = logging.getLogger(__name__)


def backup_nightly(*, task_id: str = "") -> int | None:
    """Back up, copy off-site when configured, then expire old backups; the new backup's id.

    The broker delivers a message again when its task outlives the visibility timeout (late ack)
    or when the worker dies before acknowledging it. A delivery that finds the backup lock held
    (the first still runs, or a manual backup does) exits with None; one that finds the backup
    its message already wrote returns that backup's id. Neither starts a second pg_dump."""
    try:
        with backup_lock():
            done = backup_for_task(task_id=task_id)
            if done is not None:
                logger.warning("backup already written for this task; this delivery exits",
                               extra={"backup": done.path})  # fmt: skip
                return int(done.pk)
            return _backup_nightly(task_id=task_id)
    except BackupRunning:
        logger.warning("backup already running; this delivery exits")
        return None


def _backup_nightly(*, task_id: str) -> int:
    backup = backup_create(task_id=task_id)
    logger.info("backup complete", extra={"backup": backup.path, "bytes": backup.size_bytes})
    if settings.KORE_BACKUP_S3_BUCKET:
        offsite.backup_upload(backup_id=backup.pk)
    expired = backup_retention_apply(environment=backup.environment)
    if settings.KORE_BACKUP_S3_BUCKET:
        expired += offsite.remote_retention_apply(environment=backup.environment)
    if expired:
        logger.info("backups expired", extra={"names": expired})
    return int(backup.pk)


def backup_verify_latest() -> int | None:
    """Verify the newest complete backup of this environment still on disk; its id, if any."""
    candidates = Backup.objects.filter(
        environment=settings.KORE_BACKUP_ENVIRONMENT, status=Backup.Status.COMPLETE
    ).order_by("-started_at", "-id")
    for backup in candidates:
        if Path(backup.path).is_dir():
            backup_verify(path=Path(backup.path))
            return int(backup.pk)
    return None
