from django.contrib import admin
from django.http import HttpRequest

from .models import Backup


@admin.register(Backup)
class BackupAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: backups are made, verified and expired by the commands and beat, not by hand."""

    list_display = ("path", "environment", "status", "started_at", "size_bytes", "verified_at")
    list_filter = ("status", "environment")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Backup | None = None) -> bool:
        return False
