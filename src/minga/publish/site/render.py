"""Rendering pages: the site's language, dates in the outlet's zone and UTC,
the inline stylesheet, and the context every page shares.

Pages are Django templates rendered outside any request, in the outlet's
language (setting ``language``; the builder holds ``Renderer.active()`` for
the whole build). Nothing here reads the clock: the same catalogue always
renders the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.template.loader import get_template
from django.utils import dateformat, translation
from django.utils.safestring import SafeString, mark_safe

from minga.publish.catalogue import Author, Catalogue
from minga.publish.site import paths

CSS_FILE = Path(__file__).resolve().parent.parent / "static" / "site" / "site.css"
LANGUAGE_NAMES = {"es": "Español", "en": "English", "pt": "Português", "qu": "Runasimi"}


@lru_cache(maxsize=1)
def css() -> SafeString:
    return mark_safe(CSS_FILE.read_text(encoding="utf-8").strip())  # noqa: S308 - our own file


@dataclass(frozen=True)
class Moment:
    iso: str
    local: str
    utc: str


class Clock:
    """Formats times in the outlet's zone (with its city) and in UTC."""

    def __init__(self, zone: str) -> None:
        self.zone = ZoneInfo(zone)
        self.city = zone.rsplit("/", 1)[-1].replace("_", " ")
        self._cache: dict[int, Moment] = {}
        self._days: dict[str, str] = {}

    def at(self, timestamp: int) -> Moment:
        moment = self._cache.get(timestamp)
        if moment is None:
            utc = datetime.fromtimestamp(timestamp, UTC)
            local = utc.astimezone(self.zone)
            moment = Moment(
                utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                f"{dateformat.format(local, 'j M Y, H:i')} ({self.city})",
                f"{utc:%H:%M} UTC",
            )
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[timestamp] = moment
        return moment

    def day_label(self, day: str) -> str:
        label = self._days.get(day)
        if label is None:
            label = self._days[day] = str(
                dateformat.format(datetime.strptime(day, "%Y-%m-%d"), "l j F Y")
            )
        return label


class Renderer:
    """Renders site templates in one language with the shared context."""

    def __init__(self, catalogue: Catalogue, language: str, zone: str, site_url: str) -> None:
        self.catalogue = catalogue
        self.language = language
        self.clock = Clock(zone)
        self.site_url = site_url.rstrip("/") + "/"
        self._templates: dict[str, Any] = {}

    def outlet(self) -> dict[str, str]:
        author = self.catalogue.authors.get(self.catalogue.outlet) or Author(
            self.catalogue.outlet, self.catalogue.name
        )
        return {
            "name": self.catalogue.name or author.name,
            "about": self.catalogue.about,
            "npub": author.npub,
            "pubkey": author.pubkey,
        }

    def absolute(self, path: str) -> str:
        if path.endswith("index.html"):
            path = path[: -len("index.html")]
        return self.site_url + path

    def page(self, template: str, path: str, context: dict[str, Any]) -> bytes:
        """Render ``template`` as the page at ``path`` (relative links from there)."""
        compiled = self._templates.get(template)
        if compiled is None:
            compiled = self._templates[template] = get_template(template)
        full = {
            "root": paths.root_of(path),
            "lang": self.language,
            "css": css(),
            "outlet": self.outlet(),
            "canonical": self.absolute(path),
            **context,
        }
        return str(compiled.render(full)).encode("utf-8")

    def active(self) -> Any:
        """The site's language, for the whole build (templates and dates)."""
        return translation.override(self.language)

    def language_name(self, code: str) -> str:
        return LANGUAGE_NAMES.get(code, code)
