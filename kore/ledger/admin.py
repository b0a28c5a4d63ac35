from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Account, Category, LedgerState, Split, Statement, Tag, Transaction, Transfer


@admin.register(Account)
class AccountAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("name", "organization", "kind", "currency", "opening_balance", "archived")
    list_filter = ("kind", "archived", "currency")
    search_fields = ("name",)
    raw_id_fields = ("organization",)


@admin.register(Category)
class CategoryAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("name", "organization", "kind", "parent", "depth")
    list_filter = ("kind", "depth")
    search_fields = ("name",)
    raw_id_fields = ("organization", "parent")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "organization")
    search_fields = ("name",)
    raw_id_fields = ("organization",)


class SplitInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Split
    extra = 0
    raw_id_fields = ("category",)


@admin.register(Transaction)
class TransactionAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("occurred_on", "amount", "currency", "description", "account", "status")
    list_filter = ("status", "currency")
    search_fields = ("description", "counterparty", "reference")
    date_hierarchy = "occurred_on"
    raw_id_fields = (
        "organization", "account", "category", "tags", "transfer", "statement", "created_by",
        "created_by_token",
    )  # fmt: skip
    readonly_fields = ("change_seq", "version", "created_at", "updated_at")
    inlines = (SplitInline,)
    list_select_related = ("account",)
    show_full_result_count = False  # no COUNT(*) over a million rows


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "organization", "rate", "created_at")
    raw_id_fields = ("organization",)


@admin.register(Statement)
class StatementAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("account", "end_date", "closing_balance", "status", "reconciled_at")
    list_filter = ("status",)
    raw_id_fields = ("organization", "account")


@admin.register(LedgerState)
class LedgerStateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("organization", "version", "purged_through")
    readonly_fields = ("organization", "version", "purged_through")
