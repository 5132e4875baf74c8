"""The event store in the admin: read-only, since events are signed and never edited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from minga.store.models import StoredEvent


@admin.register(StoredEvent)
class StoredEventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "kind", "pubkey", "created_at", "current", "deleted", "private")
    list_filter = ("kind", "current", "deleted", "private")
    search_fields = ("event_id", "pubkey", "address")
    readonly_fields = [f.name for f in StoredEvent._meta.fields]
    ordering = ("-created_at",)
    show_full_result_count = False  # COUNT(*) over millions of rows on every page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
