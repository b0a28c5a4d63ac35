"""What beat runs: the nightly backup (with off-site copy and retention) and the weekly verify."""

import logging
from pathlib import Path

from django.conf import settings

from kore.backups import offsite, pg
from kore.backups.models import Backup
from kore.backups.services import backup_create, backup_retention_apply, backup_verify

logger = logging.getLogger(__name__)
# Advisory lock key held while a scheduled backup runs (advisory locks are per database, so
# production and staging on one server do not block each other).
NIGHTLY_LOCK = 0x6B6F72655F626B  # "kore_bk"


def backup_nightly() -> int | None:
    """Back up, copy off-site when configured, then expire old backups; the new backup's id.

    The broker hands a task that outlives its visibility timeout to another worker while the
    first still runs (late ack): that delivery finds the lock held and exits (None) instead of
    starting a second pg_dump."""
    with pg.session_lock(NIGHTLY_LOCK) as held:
        if not held:
            logger.warning("backup already running; this delivery exits")
            return None
        return _backup_nightly()


def _backup_nightly() -> int:
    backup = backup_create()
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
