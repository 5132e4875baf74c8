"""The single-file offline edition: the latest days in one HTML file.

Everything is inside the file — styles, photos (a small size, as data: URIs),
and every item's signed events — so it opens from a phone's downloads with no
network and can be passed over Bluetooth or a messaging app. Video and audio
are too heavy to carry: they are named with a link to the site. The window is
counted back from the newest publication, not from the clock, so the same
store always gives the same file.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from minga.blobs.storage import BlobStore
from minga.publish.catalogue import Catalogue, File, Item, Media
from minga.publish.site import paths
from minga.publish.site.pages import Pages
from minga.publish.site.render import Renderer
from minga.publish.site.text import body_html

IMAGE_WIDTH = 320  # the variant carried inline (at most this wide): a light file
MAX_IMAGE_BYTES = 150_000  # a larger one is left out, named with a link


def _json_for_html(value: Any) -> SafeString:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, escaped)
    return mark_safe(text)  # noqa: S308 - escaped above for a <script type=json> block


class Edition:
    def __init__(
        self, catalogue: Catalogue, renderer: Renderer, blobs: BlobStore, days: int
    ) -> None:
        self.catalogue = catalogue
        self.r = renderer
        self.pages = Pages(catalogue, renderer)
        self.blobs = blobs
        self.days = days
        self._fragments: dict[tuple[str, str], str] = {}
        self._images: dict[str, str] = {}
        self._proofs: dict[tuple[str, str], str] = {}

    def window(self) -> tuple[list[Item], list[Item], str]:
        public = self.catalogue.public()
        if not public:
            return [], [], ""
        newest = datetime.fromtimestamp(public[0].published_at, UTC).date()
        first = (newest - timedelta(days=self.days - 1)).isoformat()
        shown = [i for i in public if i.day >= first]
        retracted = [i for i in self.catalogue.retracted() if i.day >= first]
        span = f"{self.r.clock.day_label(first)} – {self.r.clock.day_label(newest.isoformat())}"
        return shown, retracted, span

    def _image(self, file: File) -> str:
        cached = self._images.get(file.sha256)
        if cached is None:
            path = self.blobs.path(file.sha256)
            data = path.read_bytes() if path.is_file() else b""
            cached = (
                f"data:{file.mime};base64,{base64.b64encode(data).decode()}"
                if data and len(data) <= MAX_IMAGE_BYTES
                else ""
            )
            self._images[file.sha256] = cached
        return cached

    def _media(self, media: Media) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "family": media.family,
            "alt": media.alt,
            "caption": media.caption,
            "url": self.r.site_url + paths.media(media.main),
            "data": "",
        }
        if media.family == "image":
            fitting = [v for v in media.variants if v.width <= IMAGE_WIDTH] or [media.main]
            shown = fitting[-1]
            entry.update(data=self._image(shown), width=shown.width, height=shown.height)
        return entry

    def _fragment(self, item: Item) -> str:
        assert item.event is not None
        key = (item.key, item.event.id)
        cached = self._fragments.get(key)
        if cached is not None:
            return cached
        when = self.r.clock.at(item.published_at)
        context = {
            "anchor": f"i-{item.number}" if item.number is not None else f"n-{item.key[:16]}",
            "kind_label": self.pages.kind_label(item),
            "title": self.pages.title(item),
            "language": item.language,
            "author": self.catalogue.authors[item.author].name,
            "when": {"iso": when.iso, "local": when.local, "utc": when.utc},
            "place": item.place,
            "corrections": [
                {**self.pages._moment(v.created_at), "note": v.correction}
                for v in reversed(item.corrections)
            ],
            "media": [self._media(m) for m in item.media],
            "body": mark_safe(body_html(item.body)),  # noqa: S308 - sanitised by nh3
            "tags": item.hashtags,
            "url": self.r.absolute(paths.item_page(item)),
        }
        html = str(get_template("site/_edition_item.html").render(context))
        self._fragments[key] = html
        return html

    def _proof(self, item: Item) -> str:
        """The item's signed events as JSON array members, escaped for HTML."""
        key = (item.key, ",".join(e.id for e in item.proofs))
        cached = self._proofs.get(key)
        if cached is None:
            cached = str(_json_for_html([e.to_dict() for e in item.proofs]))[1:-1]
            self._proofs[key] = cached
        return cached

    def render(self) -> bytes:
        shown, retracted, span = self.window()
        items = [
            {
                "anchor": f"i-{i.number}" if i.number is not None else f"n-{i.key[:16]}",
                "label": f"#{i.number}" if i.number is not None else _("Note"),
                "title": self.pages.title(i),
                "html": mark_safe(self._fragment(i)),  # noqa: S308 - rendered from our template
            }
            for i in shown
        ]
        gone = []
        for item in retracted:
            assert item.retraction is not None
            moment = self.r.clock.at(item.retraction.at)
            gone.append(
                {
                    "label": self.pages.kind_label(item),
                    "iso": moment.iso,
                    "local": moment.local,
                    "note": item.retraction.note,
                }
            )
        events = mark_safe(  # noqa: S308 - each piece escaped by _json_for_html
            "[" + ",".join(p for p in (self._proof(i) for i in shown + retracted) if p) + "]"
        )
        return self.r.page(
            "site/edition.html",
            "edition.html",
            {
                "span": span,
                "count": len(shown),
                "items": items,
                "retracted": gone,
                "events": events,
                "canonical": "",
            },
        )
