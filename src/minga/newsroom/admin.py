from __future__ import annotations

from django.contrib import admin

from minga.newsroom.models import Outlet


@admin.register(Outlet)
class OutletAdmin(admin.ModelAdmin):
    list_display = ("name", "pubkey", "created")
    readonly_fields = ("pubkey", "created")
