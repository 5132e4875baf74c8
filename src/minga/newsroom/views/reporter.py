"""The reporter's app: an installable page that works offline.

Everything filed goes through the outbox in the browser (IndexedDB) first, so
nothing is lost when the network or the tab goes; the outbox sends files over
tus and items to ``file`` when it can.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_POST

from minga.exceptions import InvalidInput, TooLarge
from minga.media.models import Media
from minga.newsroom import filing, markdown
from minga.newsroom.models import State, Story
from minga.newsroom.views.access import json_errors, member_required

MAX_JSON = 400_000


def _json(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_JSON:
        raise TooLarge(_("This item is too large."))
    try:
        data = json.loads(request.body)
    except ValueError as exc:
        raise InvalidInput(_("The item could not be read.")) from exc
    if not isinstance(data, dict):
        raise InvalidInput(_("The item could not be read."))
    return data


@member_required
@never_cache
def app(request: HttpRequest) -> HttpResponse:
    person = request.person
    strings = {
        "queued": _("Waiting for a connection"),
        "uploading": _("Sending files"),
        "processing": _("Cleaning files"),
        "sending": _("Sending"),
        "sent": _("Sent"),
        "failed": _("Not sent"),
        "retry": _("Try again"),
        "remove": _("Remove"),
        "offline": _("No connection: items wait here and go out by themselves."),
        "online": _("Connected."),
        "saved": _("Saved in the outbox."),
        "needTitle": _("A dispatch needs a title and a text."),
        "needText": _("Write something or attach a file."),
        "signFirst": _("Your browser extension must sign this. Open it and allow minga."),
        "noExtension": _("No signing extension found in this browser."),
        "dispatch": _("Dispatch"),
        "note": _("Note"),
        "files": _("files"),
        "confirmExit": _("Quick exit: erase everything of minga in this browser and leave?"),
    }
    config = {
        "csrf": get_token(request),
        "custody": person.custody,
        "pubkey": person.pubkey,
        "strings": strings,
    }
    context = {
        "person": person,
        "config": config,
        "writing_language": (get_language() or "es")[:2],
        "languages": [
            ("es", "Español"),
            ("en", "English"),
            ("qu", "Runasimi"),
            ("ay", "Aymar aru"),
        ],
    }
    return render(request, "newsroom/reporter.html", context)


@require_POST
@member_required
@json_errors
def file_item(request: HttpRequest) -> JsonResponse:
    person = request.person
    filed = filing.file(person, _json(request))
    return JsonResponse(
        {"id": filed.event.id, "key": filed.key, "duplicate": filed.duplicate}, status=201
    )


@require_POST
@member_required
@json_errors
def publish_signed(request: HttpRequest) -> JsonResponse:
    """A media record signed by the reporter's own signer (NIP-07)."""
    from minga.newsroom.signing import accept_signed
    from minga.store.ingest import ingest

    person = request.person
    event = accept_signed(person, _json(request))
    if event.kind != 1063:
        raise InvalidInput(_("Only media records are sent this way."))
    outcome = ingest([event])[0]
    if not outcome.ok:
        raise InvalidInput(outcome.message)
    return JsonResponse({"id": event.id}, status=201)


@require_GET
@member_required
@json_errors
def media_status(request: HttpRequest, media_id: str) -> JsonResponse:
    person = request.person
    media = Media.objects.filter(pk=media_id, owner=person.pubkey).first()
    if media is None:
        return JsonResponse({"status": "unknown"}, status=404)
    return JsonResponse(
        {
            "status": media.status,
            "progress": media.progress,
            "error": media.error,
            "result": media.result if media.status == "ready" else None,
        }
    )


@require_POST
@member_required
@json_errors
def preview(request: HttpRequest) -> JsonResponse:
    body = _json(request).get("body", "")
    if not isinstance(body, str) or len(body) > filing.MAX_BODY:
        raise InvalidInput(_("The text could not be read."))
    return JsonResponse({"html": markdown.render(body)})


@require_GET
@member_required
def my_items(request: HttpRequest) -> HttpResponse:
    """The reporter's own items with the desk's state and notes (a fragment)."""
    from minga.newsroom.timeline import items_for_author

    person = request.person
    items = items_for_author(person.pubkey, limit=30)
    return render(request, "newsroom/_my_items.html", {"items": items, "State": State})


@require_GET
@cache_control(no_cache=True)
def service_worker(request: HttpRequest) -> HttpResponse:
    shell = [
        "/r/",
        static("web/minga.css"),
        static("newsroom/outbox.js"),
        static("vendor/tus.min.js"),
        static("newsroom/icon.svg"),
        "/r/exit",
    ]
    body = (
        f"const SHELL = {json.dumps(shell)};\n"
        f"const VERSION = {json.dumps(settings.MINGA.relay_name + ':' + static('newsroom/outbox.js'))};\n"
    )
    with open(_static_path("newsroom/sw.js"), encoding="utf-8") as handle:
        body += handle.read()
    response = HttpResponse(body, content_type="application/javascript")
    response["Service-Worker-Allowed"] = "/r/"
    return response


def _static_path(name: str) -> str:
    from django.contrib.staticfiles import finders

    found = finders.find(name)
    assert isinstance(found, str)
    return found


@require_GET
@cache_control(max_age=3600)
def manifest(request: HttpRequest) -> JsonResponse:
    data = {
        "name": "minga",
        "short_name": "minga",
        "description": _("File dispatches, notes, photos and video, even offline."),
        "start_url": "/r/",
        "scope": "/r/",
        "display": "standalone",
        "background_color": "#fffdf8",
        "theme_color": "#b3261e",
        "lang": get_language(),
        "icons": [
            {"src": static("newsroom/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
            {"src": static("newsroom/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("newsroom/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        ],
    }
    return JsonResponse(data, content_type="application/manifest+json")


@require_GET
def quick_exit(request: HttpRequest) -> HttpResponse:
    """Where the quick exit lands: a page about nothing in particular."""
    return render(request, "newsroom/exit.html")


def story_states(keys: list[str]) -> dict[str, Story]:
    return {s.key: s for s in Story.objects.filter(key__in=keys)}
