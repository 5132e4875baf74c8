from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from minga.keys.models import CustodialKey


@admin.register(CustodialKey)
class CustodialKeyAdmin(admin.ModelAdmin):
    """Public parts only: the sealed secret never appears in a page."""

    list_display = ("label", "purpose", "pubkey", "created")
    list_filter = ("purpose",)
    search_fields = ("label", "pubkey")
    fields = ("label", "purpose", "pubkey", "created")
    readonly_fields = ("purpose", "pubkey", "created")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
