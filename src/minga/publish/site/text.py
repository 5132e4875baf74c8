"""Bodies for the public site: Markdown to safe HTML with nothing fetched from
elsewhere, and plain text for summaries, feeds and syndication.

The site makes no third-party request at all: an image in a dispatch's
Markdown that points at another server becomes a link to it; images shown
are the outlet's own media, attached with the dispatch.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

from minga.newsroom.markdown import ATTRIBUTES, SCHEMES, TAGS

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def _image_as_link(self, tokens, idx, options, env):
    token = tokens[idx]
    src = html.escape(str(token.attrGet("src") or ""), quote=True)
    alt = html.escape(self.renderInlineAsText(token.children or [], options, env))
    return f'<a href="{src}">{alt or src}</a>'


_md.add_render_rule("image", _image_as_link)
_TAGS = TAGS - {"img"}
_ATTRIBUTES = {k: v for k, v in ATTRIBUTES.items() if k != "img"}
_TAG_RE = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[ \t]+")


@lru_cache(maxsize=4096)
def body_html(markdown: str) -> str:
    """Markdown → HTML safe to put in a page (no scripts, no remote images)."""
    return nh3.clean(
        _md.render(markdown),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def plain(markdown: str) -> str:
    """Markdown → readable plain text (paragraphs kept, marks dropped)."""
    text = _TAG_RE.sub("", body_html(markdown).replace("</p>", "\n\n").replace("<br>", "\n"))
    text = html.unescape(text)
    lines = [_SPACE.sub(" ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def excerpt(text: str, limit: int = 280) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"
