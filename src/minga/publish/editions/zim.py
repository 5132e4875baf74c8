"""The whole archive as a ZIM file (openZIM), for Kiwix readers on phones and
laptops with no network.

It is made from a built site folder: every page, feed, signed-events file
and media file goes in under its own path, with the home page as the main
page. Kiwix does not turn a folder link into its ``index.html``, so links
ending in ``/`` are pointed at the page itself while the pages are copied in;
nothing else in them changes. Full-text search is indexed by libzim.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from libzim.writer import Creator, FileProvider, Hint, Item, StringProvider
from PIL import Image, ImageDraw

from minga.exceptions import InvalidInput
from minga.publish.manifest import MANIFEST_PATH
from minga.publish.serve import content_type

ISO_639_3 = {"es": "spa", "en": "eng", "pt": "por", "qu": "que"}
_FOLDER_LINK = re.compile(rb'(href|src)="((?![a-z][a-z0-9+.-]*:)[^"#?]*/)(#[^"]*)?"')


@dataclass
class ZimReport:
    path: Path
    entries: int
    bytes: int


class _Entry(Item):
    """One ZIM entry: the bytes of a page, or a file read when libzim wants it."""

    def __init__(
        self, path: str, title: str, mime: str, content: bytes | Path, front: bool
    ) -> None:
        super().__init__()
        self._path, self._title, self._mime = path, title, mime
        self._content, self._front = content, front

    def get_path(self) -> str:
        return self._path

    def get_title(self) -> str:
        return self._title

    def get_mimetype(self) -> str:
        return self._mime

    def get_contentprovider(self) -> object:
        # A provider is read once: libzim gets a fresh one each time it asks.
        if isinstance(self._content, Path):
            return FileProvider(str(self._content))
        return StringProvider(self._content)

    def get_hints(self) -> dict[Hint, int]:
        return {Hint.FRONT_ARTICLE: self._front, Hint.COMPRESS: self._mime.startswith("text/")}


def link_pages(html: bytes) -> bytes:
    """Folder links (``../d/7/``) become page links (``../d/7/index.html``)."""

    def point(match: re.Match[bytes]) -> bytes:
        attribute, target, fragment = match.group(1), match.group(2), match.group(3) or b""
        return attribute + b'="' + target + b"index.html" + fragment + b'"'

    html = _FOLDER_LINK.sub(point, html)
    return html.replace(b'href=""', b'href="index.html"')


_TITLE = re.compile(rb"<title>(.*?)</title>", re.S)


def _title(html: bytes, fallback: str) -> str:
    found = _TITLE.search(html)
    if not found:
        return fallback
    import html as entities

    return entities.unescape(found.group(1).decode("utf-8", "replace")).strip() or fallback


def illustration(name: str) -> bytes:
    """A 48×48 PNG: the outlet's initial on the site's red (ZIM needs one)."""
    image = Image.new("RGB", (48, 48), (163, 39, 31))
    draw = ImageDraw.Draw(image)
    letter = (name.strip()[:1] or "m").upper()
    draw.text((17, 14), letter, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def write_zim(
    site: Path,
    target: Path,
    *,
    name: str,
    title: str,
    description: str,
    language: str,
    creator: str,
    date: str,
) -> ZimReport:
    """Pack the built ``site`` folder into the ZIM file ``target``."""
    if not (site / "index.html").is_file():
        raise InvalidInput(f"{site} is not a built site (no index.html)")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    entries = 0
    with Creator(str(partial)).config_indexing(True, ISO_639_3.get(language, "eng")) as zim:
        zim.set_mainpath("index.html")
        for path in sorted(p for p in site.rglob("*") if p.is_file()):
            relative = path.relative_to(site).as_posix()
            hidden = relative.startswith(".") or "/." in relative
            if hidden and "/" + relative != MANIFEST_PATH:
                continue  # (the signed manifest goes in: the about page links to it)
            mime = content_type(path.name)
            if mime == "text/html":
                html = link_pages(path.read_bytes())
                zim.add_item(
                    _Entry(
                        relative,
                        _title(html, relative),
                        mime,
                        html,
                        relative.endswith("index.html") and not relative.startswith("static/"),
                    )
                )
            else:
                zim.add_item(_Entry(relative, "", mime, path, False))
            entries += 1
        zim.add_metadata("Name", name)
        zim.add_metadata("Title", title[:30])
        zim.add_metadata("Description", description[:80])
        zim.add_metadata("LongDescription", description[:4000])
        zim.add_metadata("Language", ISO_639_3.get(language, "eng"))
        zim.add_metadata("Creator", creator)
        zim.add_metadata("Publisher", creator)
        zim.add_metadata("Date", date)
        zim.add_metadata("Tags", "_category:news;_pictures:yes;_videos:yes")
        zim.add_illustration(48, illustration(title))
    partial.replace(target)
    return ZimReport(target, entries, target.stat().st_size)
