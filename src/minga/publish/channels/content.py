"""What channels are given beyond :mod:`.base`, and the text every channel shares.

:class:`Picture` is an :class:`~.base.Attachment` that also knows its smaller
sizes, so a platform with a file-size limit takes the largest that fits;
:class:`Edition` is a :class:`~.base.Post` that knows which languages the item
is published in (itself and its translations), so a reader who chose one
language gets that version only. Both are drop-in for the base types.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from minga.publish.channels.base import Attachment, Post


@dataclass(frozen=True)
class Picture(Attachment):
    width: int = 0
    height: int = 0
    variants: tuple[Attachment, ...] = ()  # smaller copies, any order


@dataclass(frozen=True)
class Edition(Post):
    languages: tuple[str, ...] = ()  # of the item and of its translations


def fitting(attachment: Attachment, limit: int) -> Attachment | None:
    """The attachment, or its largest smaller copy, of at most ``limit`` bytes."""
    if attachment.size <= limit:
        return attachment
    variants = attachment.variants if isinstance(attachment, Picture) else ()
    small = [v for v in variants if v.size <= limit]
    return max(small, key=lambda v: v.size) if small else None


def images(post: Post) -> list[Attachment]:
    return [a for a in post.attachments if a.mime.startswith("image/")]


def clean(text: str) -> str:
    """NFC, so a grapheme is one code point wherever Unicode allows."""
    return unicodedata.normalize("NFC", text).strip()


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word with an ellipsis when cut."""
    text = clean(text)
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + "…"


def hashtag(tag: str) -> str:
    """A tag as a platform hashtag: letters, digits and underscores only."""
    word = "".join(c for c in clean(tag).lstrip("#") if c.isalnum() or c == "_")
    return word[:64]


def hashtags(post: Post) -> list[str]:
    return list(dict.fromkeys(h for h in (hashtag(t) for t in post.hashtags) if h))


def language(post: Post) -> str:
    return post.language if post.language in {"es", "en"} else str(settings.MINGA.language)


def correction_line(post: Post) -> str:
    with translation.override(language(post)):
        return _("Correction: %(note)s") % {"note": clean(post.correction)}


def standing_note(post: Post) -> str:
    """The correction line a first post carries when the item was corrected before."""
    return correction_line(post) if post.correction else ""


def retraction_text(post: Post) -> str:
    """The public note a channel posts when an item is withdrawn."""
    with translation.override(language(post)):
        if post.number is not None:
            head = _("%(outlet)s retracts dispatch #%(number)s.") % {
                "outlet": post.outlet,
                "number": post.number,
            }
        else:
            head = _("%(outlet)s retracts a published note.") % {"outlet": post.outlet}
        return f"{head} {clean(post.retraction)}".strip()


@dataclass(frozen=True)
class Parts:
    """A post's text in pieces, already cut so that, joined by blank lines
    (:meth:`joined`), it fits a platform's limit."""

    head: str  # the dispatch title ("" for a note)
    body: str  # summary, or the whole text
    url: str
    tags: tuple[str, ...]  # hashtags, without '#'
    extra: str  # a correction line, or ""

    def pieces(self) -> list[str]:
        tags = " ".join(f"#{t}" for t in self.tags)
        return [p for p in (self.head, self.body, self.url, tags, self.extra) if p]

    def joined(self) -> str:
        return "\n\n".join(self.pieces())


def compose(
    post: Post,
    limit: int,
    measure: Callable[[str], int] = len,
    *,
    whole: bool = False,
    extra: str = "",
) -> Parts:
    """The post cut to ``limit`` as ``measure`` counts it: the body gives way
    first, then the hashtags, then the title; the link always stays."""
    is_note = post.number is None
    head = "" if is_note else clean(post.title)
    body = clean(post.text if whole or is_note or not post.summary else post.summary)
    extra = clean(extra)
    tags = tuple(hashtags(post))
    parts = Parts(head, body, post.url, tags, extra)
    if measure(parts.joined()) <= limit:
        return parts
    room = limit - measure(Parts(head, "", post.url, tags, extra).joined()) - 2
    if room >= 40:
        return Parts(head, _fit(body, room, measure), post.url, tags, extra)
    parts = Parts(head, "", post.url, (), extra)
    room = limit - measure(parts.joined()) - 2
    if room >= 40:
        return Parts(head, _fit(body, room, measure), post.url, (), extra)
    room = limit - measure(Parts("", "", post.url, (), "").joined()) - 4
    extra = _fit(extra, room // 2, measure) if extra else ""
    head = _fit(head or body, room - measure(extra), measure)
    return Parts(head, "", post.url, (), extra)


def _fit(text: str, room: int, measure: Callable[[str], int]) -> str:
    """The longest :func:`shorten` of ``text`` that ``measure`` finds within ``room``."""
    if room <= 0:
        return ""
    if measure(clean(text)) <= room:
        return clean(text)
    low, high, best = 1, min(room, len(text)), ""
    while low <= high:  # measure may count more than characters: search
        middle = (low + high) // 2
        cut = shorten(text, middle)
        if measure(cut) <= room:
            best, low = cut, middle + 1
        else:
            high = middle - 1
    return best


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def url_weighted(weight: int) -> Callable[[str], int]:
    """Length where a link counts as ``weight`` characters, or its own length if more
    (Mastodon counts every link as 23)."""

    def measure(text: str) -> int:
        total = 0
        for word in re.split(r"(\s+)", text):
            is_link = word.startswith(("http://", "https://"))
            total += max(len(word), weight) if is_link else len(word)
        return total

    return measure
