"""Markdown to safe HTML: markdown-it (CommonMark, raw HTML off) then nh3.

NIP-23 forbids HTML in long-form Markdown; whatever a client sends anyway is
shown as text by markdown-it and, belt and braces, nh3 keeps only the tags
and URL schemes below.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "img",
}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}
SCHEMES = {"http", "https", "mailto", "nostr"}


def render(text: str) -> str:
    html = _md.render(text)
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
