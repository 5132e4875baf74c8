from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from minga.blobs.models import Blob


@admin.register(Blob)
class BlobAdmin(admin.ModelAdmin):
    list_display = ("sha256", "type", "size", "uploaded")
    search_fields = ("sha256",)
    readonly_fields = ("sha256", "type", "size", "uploaded")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
