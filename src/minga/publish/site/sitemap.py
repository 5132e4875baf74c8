"""The sitemap (sitemaps.org 0.9): an index, item pages in stable chunks of
``CHUNK`` counted from the oldest (publishing rewrites only the newest chunk),
and one file for the lists."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from minga.publish.catalogue import Item

CHUNK = 1000  # sitemaps.org allows 50,000; small chunks keep updates small
NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def _date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _document(root: str, element: str, entries: list[tuple[str, int]]) -> bytes:
    out = ['<?xml version="1.0" encoding="utf-8"?>\n', f'<{root} xmlns="{NS}">\n']
    for url, modified in entries:
        out.append(f"<{element}><loc>{escape(url)}</loc>")
        if modified:
            out.append(f"<lastmod>{_date(modified)}</lastmod>")
        out.append(f"</{element}>\n")
    out.append(f"</{root}>\n")
    return "".join(out).encode("utf-8")


def urlset(entries: list[tuple[str, int]]) -> bytes:
    """A <urlset> of (absolute URL, last modified) pairs."""
    return _document("urlset", "url", entries)


def index(entries: list[tuple[str, int]]) -> bytes:
    """A <sitemapindex> of (sitemap URL, last modified) pairs."""
    return _document("sitemapindex", "sitemap", entries)


def chunk_path(number: int) -> str:
    return f"sitemaps/items-{number}.xml"


def item_chunks(items_oldest_first: list[Item]) -> list[list[Item]]:
    return [
        items_oldest_first[start : start + CHUNK]
        for start in range(0, len(items_oldest_first), CHUNK)
    ]


def chunk(items: list[Item], url: Callable[[str], str], page: Callable[[Item], str]) -> bytes:
    return urlset([(url(page(item)), item.updated_at) for item in items])
