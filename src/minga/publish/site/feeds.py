"""Atom 1.0 (RFC 4287), RSS 2.0 and JSON Feed 1.1 for the site, each reporter
and each hashtag, with the media as enclosures/attachments.

Entry ids do not depend on where the site is hosted: a dispatch is
``nostr:naddr…`` (its address), a note ``nostr:note…``, so moving the site to
another domain or a mirror never makes readers see everything twice. Dates
come from the events, never from the clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape, quoteattr

from minga.events.kinds import LONG_FORM
from minga.keys.nip19 import naddr_encode, note_encode
from minga.publish.catalogue import Catalogue, Item, Media
from minga.publish.site import paths
from minga.publish.site.text import body_html, excerpt, plain

ATOM = "application/atom+xml"
RSS = "application/rss+xml"
JSON_FEED = "application/feed+json"


@dataclass(frozen=True)
class Feed:
    folder: str  # "" for the site, "a/<slug>/" or "t/<slug>/"
    title: str
    items: list[Item]  # newest first; the feed takes the first FEED_ITEMS
    language: str


def entry_id(item: Item) -> str:
    if item.kind == LONG_FORM and item.key.count(":") == 2:
        kind, pubkey, d = item.key.split(":", 2)
        return "nostr:" + naddr_encode(int(kind), pubkey, d)
    return "nostr:" + note_encode(item.key)


def _rfc3339(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rfc822(timestamp: int) -> str:
    return format_datetime(datetime.fromtimestamp(timestamp, UTC), usegmt=True)


class Feeds:
    def __init__(self, catalogue: Catalogue, site_url: str) -> None:
        self.catalogue = catalogue
        self.site_url = site_url.rstrip("/") + "/"
        # An item shows in up to a dozen feeds: its entries are written once.
        self._entries: dict[tuple[str, str], tuple[Item, str]] = {}

    def _entry(self, kind: str, item: Item, write: Callable[[Item], str]) -> str:
        cached = self._entries.get((kind, item.key))
        if cached is not None and cached[0] is item:
            return cached[1]
        text = write(item)
        self._entries[(kind, item.key)] = (item, text)
        return text

    def url(self, path: str) -> str:
        if path.endswith("index.html"):
            path = path[: -len("index.html")]
        return self.site_url + path

    def _title(self, item: Item) -> str:
        if item.number is not None:
            return f"#{item.number} {item.title}"
        return item.title or excerpt(plain(item.body), 80)

    def _content(self, item: Item) -> str:
        parts = []
        if item.corrections:
            latest = item.corrections[-1]
            parts.append(f"<p><strong>✱</strong> {escape(latest.correction)}</p>")
        for media in item.media:
            parts.append(self._media_html(media))
        parts.append(body_html(item.body))
        return "".join(parts)

    def _media_html(self, media: Media) -> str:
        src = self.url(paths.media(media.variants[-1] if media.variants else media.main))
        if media.family == "image":
            return f"<p><img src={quoteattr(src)} alt={quoteattr(media.alt)}></p>"
        return f"<p><a href={quoteattr(self.url(paths.media(media.main)))}>{escape(media.alt or media.main.name)}</a></p>"

    def _summary(self, item: Item) -> str:
        return item.summary or excerpt(plain(item.body), 280)

    def _updated(self, items: list[Item]) -> int:
        return max((i.updated_at for i in items), default=0)

    # -- Atom 1.0 -------------------------------------------------------
    def atom(self, feed: Feed) -> bytes:
        items = feed.items[: paths.FEED_ITEMS]
        self_url = self.url(feed.folder + "feed.atom")
        out = [
            '<?xml version="1.0" encoding="utf-8"?>\n',
            f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang={quoteattr(feed.language)}>\n',
            f"<id>{escape(self_url)}</id>\n",
            f"<title>{escape(feed.title)}</title>\n",
            f"<updated>{_rfc3339(self._updated(items))}</updated>\n",
            f'<link rel="self" type="{ATOM}" href={quoteattr(self_url)}/>\n',
            f'<link rel="alternate" type="text/html" href={quoteattr(self.url(feed.folder))}/>\n',
            f"<author><name>{escape(self.catalogue.name)}</name></author>\n",
            "<generator>minga</generator>\n",
        ]
        out += [self._entry("atom", item, self._atom_entry) for item in items]
        out.append("</feed>\n")
        return "".join(out).encode("utf-8")

    def _atom_entry(self, item: Item) -> str:
        out: list[str] = []
        author = self.catalogue.authors[item.author]
        page = self.url(paths.item_page(item))
        out.append("<entry")
        if item.language:
            out.append(f" xml:lang={quoteattr(item.language)}")
        out.append(">\n")
        out.append(f"<id>{escape(entry_id(item))}</id>\n")
        out.append(f"<title>{escape(self._title(item))}</title>\n")
        out.append(f"<published>{_rfc3339(item.published_at)}</published>\n")
        out.append(f"<updated>{_rfc3339(item.updated_at)}</updated>\n")
        out.append(f'<link rel="alternate" type="text/html" href={quoteattr(page)}/>\n')
        for media in item.media:
            out.append(
                f'<link rel="enclosure" type={quoteattr(media.main.mime)}'
                f' length="{media.size}" href={quoteattr(self.url(paths.media(media.main)))}/>\n'
            )
        out.append(f"<author><name>{escape(author.name)}</name></author>\n")
        for tag in item.hashtags:
            out.append(f"<category term={quoteattr(tag)}/>\n")
        out.append(f"<summary>{escape(self._summary(item))}</summary>\n")
        out.append(f'<content type="html">{escape(self._content(item))}</content>\n')
        out.append("</entry>\n")
        return "".join(out)

    # -- RSS 2.0 ----------------------------------------------------------
    def rss(self, feed: Feed) -> bytes:
        items = feed.items[: paths.FEED_ITEMS]
        self_url = self.url(feed.folder + "feed.rss")
        out = [
            '<?xml version="1.0" encoding="utf-8"?>\n',
            '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n',
            f"<title>{escape(feed.title)}</title>\n",
            f"<link>{escape(self.url(feed.folder))}</link>\n",
            f"<description>{escape(self.catalogue.about or feed.title)}</description>\n",
            f"<language>{escape(feed.language)}</language>\n",
            f'<atom:link rel="self" type="{RSS}" href={quoteattr(self_url)}/>\n',
            "<generator>minga</generator>\n",
            "<docs>https://www.rssboard.org/rss-specification</docs>\n",
        ]
        if items:
            out.append(f"<lastBuildDate>{_rfc822(self._updated(items))}</lastBuildDate>\n")
        out += [self._entry("rss", item, self._rss_item) for item in items]
        out.append("</channel>\n</rss>\n")
        return "".join(out).encode("utf-8")

    def _rss_item(self, item: Item) -> str:
        out: list[str] = []
        page = self.url(paths.item_page(item))
        out.append("<item>\n")
        out.append(f"<title>{escape(self._title(item))}</title>\n")
        out.append(f"<link>{escape(page)}</link>\n")
        out.append(f'<guid isPermaLink="false">{escape(entry_id(item))}</guid>\n')
        out.append(f"<pubDate>{_rfc822(item.published_at)}</pubDate>\n")
        out.append(f"<description>{escape(self._content(item))}</description>\n")
        for tag in item.hashtags:
            out.append(f"<category>{escape(tag)}</category>\n")
        if item.media:  # RSS readers take one enclosure per item
            media = item.media[0]
            out.append(
                f"<enclosure url={quoteattr(self.url(paths.media(media.main)))}"
                f' length="{media.size}" type={quoteattr(media.main.mime)}/>\n'
            )
        out.append("</item>\n")
        return "".join(out)

    # -- JSON Feed 1.1 ----------------------------------------------------
    def json_feed(self, feed: Feed) -> bytes:
        items = feed.items[: paths.FEED_ITEMS]
        document: dict[str, object] = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": feed.title,
            "home_page_url": self.url(feed.folder),
            "feed_url": self.url(feed.folder + "feed.json"),
            "language": feed.language,
            "authors": [{"name": self.catalogue.name}],
        }
        if self.catalogue.about:
            document["description"] = self.catalogue.about
        head = json.dumps(document, ensure_ascii=False, indent=1)[:-2]
        entries = [self._entry("json", item, self._json_entry) for item in items]
        return (head + ',\n "items": [' + ",".join(entries) + "]\n}\n").encode("utf-8")

    def _json_entry(self, item: Item) -> str:
        return json.dumps(self._json_item(item), ensure_ascii=False)

    def _json_item(self, item: Item) -> dict[str, object]:
        author = self.catalogue.authors[item.author]
        entry: dict[str, object] = {
            "id": entry_id(item),
            "url": self.url(paths.item_page(item)),
            "title": self._title(item),
            "content_html": self._content(item),
            "summary": self._summary(item),
            "date_published": _rfc3339(item.published_at),
            "date_modified": _rfc3339(item.updated_at),
            "authors": [{"name": author.name, "url": self.url(paths.author_dir(author))}],
        }
        if item.language:
            entry["language"] = item.language
        if item.hashtags:
            entry["tags"] = list(item.hashtags)
        if item.media:
            entry["attachments"] = [
                {
                    "url": self.url(paths.media(m.main)),
                    "mime_type": m.main.mime,
                    "size_in_bytes": m.size,
                    **({"title": m.alt} if m.alt else {}),
                }
                for m in item.media
            ]
            images = [m for m in item.media if m.family == "image"]
            if images:
                entry["image"] = self.url(paths.media(images[0].thumb))
        return entry
