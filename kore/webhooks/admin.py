from django.contrib import admin

from .models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "organization", "url", "is_active", "failing_since", "created_at")
    list_filter = ("is_active",)
    raw_id_fields = ("organization", "created_by")
    exclude = ("secret",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "endpoint", "event_id", "event_type", "status", "attempts", "created_at")
    list_filter = ("status", "event_type")
    raw_id_fields = ("endpoint",)
