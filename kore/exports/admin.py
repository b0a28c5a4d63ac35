from django.contrib import admin

from .models import ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "organization", "status", "rows_written", "created_at", "finished_at")
    list_filter = ("status",)
    raw_id_fields = ("organization", "created_by")
