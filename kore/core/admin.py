from django.contrib import admin

from .models import IdempotencyKey


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("key", "scope", "response_status", "created_at", "expires_at")
    search_fields = ("key", "scope")
    readonly_fields = (
        "scope", "key", "request_hash", "response_status", "response_body", "response_headers",
        "expires_at",
    )  # fmt: skip
