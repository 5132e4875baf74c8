"""The MUSTs of the feed and sitemap specifications, as checks.

Atom 1.0 (RFC 4287 §4), RSS 2.0 (rssboard.org specification), JSON Feed 1.1
(jsonfeed.org/version/1.1) and sitemaps.org 0.9: each function returns the
list of violations found (empty when the document conforms).
"""

from __future__ import annotations

import json
import re
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
W3C_DATE = re.compile(
    r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?)?)?$"
)
IRI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$")


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _exactly_one(parent: Any, tag: str, where: str, problems: list[str]) -> Any:
    found = parent.findall(tag)
    if len(found) != 1:
        problems.append(f"{where}: {len(found)} {tag.split('}')[-1]} elements, exactly one needed")
    return found[0] if found else None


def atom(data: bytes) -> list[str]:
    problems: list[str] = []
    root = etree.fromstring(data)
    if root.tag != f"{ATOM}feed":
        return [f"root element is {root.tag}, not atom:feed"]
    for tag in ("id", "title", "updated"):
        _exactly_one(root, f"{ATOM}{tag}", "feed", problems)
    feed_id = root.findtext(f"{ATOM}id") or ""
    if not IRI.match(feed_id):
        problems.append(f"feed id {feed_id!r} is not an IRI")
    if not RFC3339.match(root.findtext(f"{ATOM}updated") or ""):
        problems.append("feed updated is not an RFC 3339 date")
    entries = root.findall(f"{ATOM}entry")
    feed_author = root.find(f"{ATOM}author") is not None
    alternates = [
        (link.get("type"), link.get("hreflang"))
        for link in root.findall(f"{ATOM}link")
        if link.get("rel", "alternate") == "alternate"
    ]
    if len(alternates) != len(set(alternates)):
        problems.append("feed: two alternate links with the same type and hreflang")
    for link in root.iter(f"{ATOM}link"):
        if not link.get("href"):
            problems.append("a link without href")
    ids = set()
    for n, entry in enumerate(entries):
        where = f"entry {n}"
        for tag in ("id", "title", "updated"):
            _exactly_one(entry, f"{ATOM}{tag}", where, problems)
        entry_id = entry.findtext(f"{ATOM}id") or ""
        if not IRI.match(entry_id):
            problems.append(f"{where}: id {entry_id!r} is not an IRI")
        if entry_id in ids:
            problems.append(f"{where}: id {entry_id!r} repeats")
        ids.add(entry_id)
        for tag in ("updated", "published"):
            for date in entry.findall(f"{ATOM}{tag}"):
                if not RFC3339.match(date.text or ""):
                    problems.append(f"{where}: {tag} is not an RFC 3339 date")
        if len(entry.findall(f"{ATOM}published")) > 1:
            problems.append(f"{where}: more than one published")
        content = entry.find(f"{ATOM}content")
        has_alternate = any(
            link.get("rel", "alternate") == "alternate" for link in entry.findall(f"{ATOM}link")
        )
        if content is None and not has_alternate:
            problems.append(f"{where}: neither content nor an alternate link")
        other_type = content is not None and content.get("type") not in (
            None,
            "text",
            "html",
            "xhtml",
        )
        if other_type and entry.find(f"{ATOM}summary") is None:
            problems.append(f"{where}: content of another type needs a summary")
        if not feed_author and entry.find(f"{ATOM}author") is None:
            problems.append(f"{where}: no author (and the feed has none)")
        for author in entry.findall(f"{ATOM}author"):
            _exactly_one(author, f"{ATOM}name", f"{where} author", problems)
        for link in entry.findall(f"{ATOM}link"):
            if link.get("rel") == "enclosure" and not (link.get("length") or "").isdigit():
                problems.append(f"{where}: enclosure without a length")
    return problems


def rss(data: bytes) -> list[str]:
    problems: list[str] = []
    root = etree.fromstring(data)
    if root.tag != "rss" or root.get("version") != "2.0":
        return ['root element is not <rss version="2.0">']
    channels = root.findall("channel")
    if len(channels) != 1:
        return [f"{len(channels)} channel elements, exactly one needed"]
    channel = channels[0]
    for tag in ("title", "link", "description"):
        _exactly_one(channel, tag, "channel", problems)
    if not _absolute(channel.findtext("link") or ""):
        problems.append("channel link is not an absolute URL")
    for tag in ("pubDate", "lastBuildDate"):
        text = channel.findtext(tag)
        if text is not None:
            try:
                parsedate_to_datetime(text)
            except (TypeError, ValueError):
                problems.append(f"channel {tag} is not an RFC 822 date")
    for n, item in enumerate(channel.findall("item")):
        where = f"item {n}"
        if item.find("title") is None and item.find("description") is None:
            problems.append(f"{where}: neither title nor description")
        text = item.findtext("pubDate")
        if text is not None:
            try:
                parsedate_to_datetime(text)
            except (TypeError, ValueError):
                problems.append(f"{where}: pubDate is not an RFC 822 date")
        link = item.findtext("link")
        if link is not None and not _absolute(link):
            problems.append(f"{where}: link is not an absolute URL")
        for enclosure in item.findall("enclosure"):
            if not (
                _absolute(enclosure.get("url", ""))
                and (enclosure.get("length") or "").isdigit()
                and enclosure.get("type")
            ):
                problems.append(f"{where}: enclosure needs url, length and type")
        guid = item.find("guid")
        permalink = guid is not None and guid.get("isPermaLink", "true") == "true"
        if permalink and not _absolute(guid.text or ""):
            problems.append(f"{where}: a permalink guid must be a URL")
    return problems


def json_feed(data: bytes) -> list[str]:
    problems: list[str] = []
    feed = json.loads(data)
    if feed.get("version") != "https://jsonfeed.org/version/1.1":
        problems.append("version is not https://jsonfeed.org/version/1.1")
    if not isinstance(feed.get("title"), str):
        problems.append("title is required")
    for key in ("home_page_url", "feed_url"):
        if key in feed and not _absolute(feed[key]):
            problems.append(f"{key} is not an absolute URL")
    items = feed.get("items")
    if not isinstance(items, list):
        return [*problems, "items must be an array"]
    for key in ("authors",):
        for author in feed.get(key, []):
            if not isinstance(author, dict) or not set(author) & {"name", "url", "avatar"}:
                problems.append("an author needs name, url or avatar")
    ids = set()
    for n, item in enumerate(items):
        where = f"item {n}"
        if not isinstance(item.get("id"), str) or not item["id"]:
            problems.append(f"{where}: id must be a non-empty string")
        if item.get("id") in ids:
            problems.append(f"{where}: id repeats")
        ids.add(item.get("id"))
        if not (
            isinstance(item.get("content_html"), str) or isinstance(item.get("content_text"), str)
        ):
            problems.append(f"{where}: content_html or content_text is required")
        for key in ("date_published", "date_modified"):
            if key in item and not RFC3339.match(item[key]):
                problems.append(f"{where}: {key} is not an RFC 3339 date")
        for key in ("url", "image"):
            if key in item and not _absolute(item[key]):
                problems.append(f"{where}: {key} is not an absolute URL")
        if "tags" in item and not all(isinstance(t, str) for t in item["tags"]):
            problems.append(f"{where}: tags must be strings")
        for attachment in item.get("attachments", []):
            if not _absolute(attachment.get("url", "")) or not attachment.get("mime_type"):
                problems.append(f"{where}: an attachment needs url and mime_type")
            size = attachment.get("size_in_bytes")
            if size is not None and not isinstance(size, int):
                problems.append(f"{where}: size_in_bytes must be a number")
    return problems


def sitemap(data: bytes) -> list[str]:
    problems: list[str] = []
    root = etree.fromstring(data)
    if root.tag not in (f"{SITEMAP}urlset", f"{SITEMAP}sitemapindex"):
        return [f"root element is {root.tag}"]
    child = "url" if root.tag.endswith("urlset") else "sitemap"
    entries = root.findall(f"{SITEMAP}{child}")
    if len(entries) > 50_000:
        problems.append("more than 50,000 entries")
    if len(data) > 50 * 1024 * 1024:
        problems.append("larger than 50 MB")
    for n, entry in enumerate(entries):
        loc = entry.findtext(f"{SITEMAP}loc") or ""
        if not _absolute(loc) or len(loc) > 2048:
            problems.append(f"entry {n}: loc {loc!r} is not an absolute URL under 2048 characters")
        modified = entry.findtext(f"{SITEMAP}lastmod")
        if modified is not None and not W3C_DATE.match(modified):
            problems.append(f"entry {n}: lastmod is not a W3C datetime")
    return problems
