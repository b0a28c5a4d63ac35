from django.contrib import admin

from .models import ImportJob, ImportMapping


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "organization", "account", "status", "format", "rows_read",
                    "rows_total", "created_count", "duplicate_count", "invalid_count",
                    "created_at")  # fmt: skip
    list_filter = ("status", "format", "mode")
    readonly_fields = ("file_path", "claim", "cursor", "attempts", "heartbeat_at")


@admin.register(ImportMapping)
class ImportMappingAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("account", "updated_at")
