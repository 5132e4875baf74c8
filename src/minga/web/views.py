"""Plain pages: the home page lists the latest public events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from minga.events.filters import Filter
from minga.events.kinds import DELETION, FILE_METADATA, GENERIC_REPOST, LONG_FORM, NOTE
from minga.keys.nip19 import npub_encode
from minga.newsroom.models import Outlet
from minga.store.query import Row, count, query


def _label(kind: int) -> str:
    labels = {
        LONG_FORM: _("Dispatch"),
        NOTE: _("Note"),
        FILE_METADATA: _("Media"),
        GENERIC_REPOST: _("Approval"),
        DELETION: _("Retraction"),
    }
    return labels.get(kind, _("Event of kind %(kind)d") % {"kind": kind})


def _item(row: Row) -> dict[str, Any]:
    event = row.event()
    title = event.first_tag_value("title") or ""
    text = event.content if event.kind in (NOTE, LONG_FORM, DELETION) else ""
    excerpt = text[:280] + ("…" if len(text) > 280 else "")
    npub = npub_encode(event.pubkey)
    return {
        "id": event.id,
        "kind": event.kind,
        "label": _label(event.kind),
        "title": title,
        "excerpt": excerpt,
        "author": f"{npub[:12]}…{npub[-4:]}",
        "language": event.first_tag_value("l") or event.first_tag_value("lang") or "",
        "when": datetime.fromtimestamp(event.created_at, tz=UTC),
        "hashtags": event.tag_values("t")[:6],
    }


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    rows = query([Filter(limit=50)], private=False)
    context = {
        "outlet": Outlet.current(),
        "items": [_item(r) for r in rows],
        "total": count(),
        "time_zone": settings.TIME_ZONE,
    }
    return render(request, "web/home.html", context)


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True, "events": count()})
