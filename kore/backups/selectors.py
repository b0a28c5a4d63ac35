"""Reads of backup rows: what the status page, metrics and retention need."""

from kore.backups.models import Backup


def backup_last_good() -> Backup | None:
    """The most recent backup that completed (verified or not), or None."""
    return Backup.objects.filter(status__in=Backup.GOOD).order_by("-started_at", "-id").first()
