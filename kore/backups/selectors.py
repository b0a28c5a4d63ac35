"""Reads of backup rows: what the status page, metrics and retention need."""

from kore.backups.models import Backup


def backup_last_good() -> Backup | None:
    """The most recent backup that completed (verified or not), or None."""
    return Backup.objects.filter(status__in=Backup.GOOD).order_by("-started_at", "-id").first()


def backup_list(*, environment: str | None = None) -> list[Backup]:
    """Every backup row, newest first, optionally for one environment."""
    queryset = Backup.objects.all()
    if environment is not None:
        queryset = queryset.filter(environment=environment)
    return list(queryset.order_by("-started_at", "-id"))


def backup_get_by_path(*, path: str) -> Backup | None:
    """The row of a backup directory, if this database knows it."""
    return Backup.objects.filter(path=path).first()
