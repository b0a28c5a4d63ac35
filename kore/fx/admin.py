from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from .models import ExchangeRate


@admin.register(ExchangeRate)
class ExchangeRateAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    """Read only: rates change through the API, whose services move the report cache on."""

    list_display = ("date", "base", "quote", "rate", "source", "organization")
    list_filter = ("source", "base", "quote")
    date_hierarchy = "date"
    raw_id_fields = ("organization",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
