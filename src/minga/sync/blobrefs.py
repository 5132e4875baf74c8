"""Which blobs an event names: ``x``/``ox`` tags, ``imeta`` entries, blob URLs.

Blobs are named by the sha256 of their bytes (Blossom), so wherever a
reference comes from, the bytes fetched for it can be checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from minga.events.event import Event

# NIP-5A site manifests name the files of a built site (kept by its deploy
# targets, rebuilt by every node from the events), not blobs of the store.
SITE_MANIFESTS = frozenset({15128, 35128})
_HASH = re.compile(r"[0-9a-f]{64}")
# A Blossom URL ends in /<sha256> with an optional extension.
_URL_HASH = re.compile(r"/([0-9a-f]{64})(?:\.[A-Za-z0-9]{1,10})?(?:[?#].*)?$")


@dataclass
class BlobRef:
    sha256: str
    size: int | None = None
    urls: list[str] = field(default_factory=list)


def _size(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) <= 15 else None


def referenced(event: Event) -> list[BlobRef]:
    """The blobs ``event`` names, each once, in the order first named."""
    if event.kind in SITE_MANIFESTS:
        return []
    refs: dict[str, BlobRef] = {}

    def add(sha: str, size: int | None = None, url: str | None = None) -> None:
        sha = sha.lower()
        if not _HASH.fullmatch(sha):
            return
        ref = refs.setdefault(sha, BlobRef(sha))
        if size is not None and ref.size is None:
            ref.size = size
        if url and url.startswith(("http://", "https://")) and url not in ref.urls:
            ref.urls.append(url)

    size_tag = next((_size(t[1]) for t in event.tags if len(t) > 1 and t[0] == "size"), None)
    url_tag = next((t[1] for t in event.tags if len(t) > 1 and t[0] == "url"), None)
    for tag in event.tags:
        if len(tag) < 2:
            continue
        name, value = tag[0], tag[1]
        if name == "x":
            add(value, size_tag, url_tag if url_tag and value in url_tag else None)
        elif name == "ox":
            add(value)
        elif name == "url":
            match = _URL_HASH.search(value)
            if match:
                add(match[1], None, value)
        elif name == "imeta":
            fields: dict[str, str] = {}
            for entry in tag[1:]:
                key, _, rest = entry.partition(" ")
                fields.setdefault(key, rest.strip())
            url = fields.get("url", "")
            match = _URL_HASH.search(url) if url else None
            sha = fields.get("x") or (match[1] if match else "")
            if sha:
                add(sha, _size(fields.get("size", "")), url or None)
            if fields.get("ox"):
                add(fields["ox"])
    return list(refs.values())
