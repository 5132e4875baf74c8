"""The NIP-01 event: canonical serialisation and id.

The event is a plain value. Parsing untrusted input lives in
:mod:`minga.events.validate`; signatures in :mod:`minga.events.signing`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from minga.events.kinds import KindClass, kind_class

Tag = list[str]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def serialize_for_id(
    pubkey: str, created_at: int, kind: int, tags: list[Tag], content: str
) -> bytes:
    """The canonical UTF-8 serialisation of NIP-01 that the id hashes.

    Python's JSON encoder with ``ensure_ascii=False`` escapes exactly what
    NIP-01 lists (``\\n \\" \\\\ \\r \\t \\b \\f``), writes other control
    characters as ``\\u00XX`` (JSON requires it) and leaves everything else
    verbatim. A lone surrogate cannot be encoded as UTF-8 and raises
    ``UnicodeEncodeError``: such an event has no canonical form.
    """
    tags_json, content_json = _dumps(tags), _dumps(content)
    return _canonical(pubkey, created_at, kind, tags_json, content_json).encode("utf-8")


def _canonical(pubkey: str, created_at: int, kind: int, tags_json: str, content_json: str) -> str:
    # Same bytes as encoding [0, pubkey, created_at, kind, tags, content]: the
    # pubkey is hex and the numbers are integers, so nothing else needs escaping.
    return f'[0,"{pubkey}",{created_at},{kind},{tags_json},{content_json}]'


def compute_id(pubkey: str, created_at: int, kind: int, tags: list[Tag], content: str) -> str:
    return hashlib.sha256(serialize_for_id(pubkey, created_at, kind, tags, content)).hexdigest()


def compute_id_and_json(
    event_id: str, pubkey: str, created_at: int, kind: int, tags: list[Tag], content: str, sig: str
) -> tuple[str, str]:
    """The id the content hashes to, and the event's stored JSON, from one encoding.

    The JSON is built from the pieces the id needed (the tags and content
    encodings), so storing an event costs no second serialisation.
    """
    tags_json, content_json = _dumps(tags), _dumps(content)
    canonical = _canonical(pubkey, created_at, kind, tags_json, content_json)
    computed = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    raw = (
        f'{{"id":"{event_id}","pubkey":"{pubkey}","created_at":{created_at},"kind":{kind},'
        f'"tags":{tags_json},"content":{content_json},"sig":"{sig}"}}'
    )
    return computed, raw


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    pubkey: str
    created_at: int
    kind: int
    tags: list[Tag]
    content: str
    sig: str
    # The stored JSON, when parsing already built it (see compute_id_and_json).
    raw: str | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pubkey": self.pubkey,
            "created_at": self.created_at,
            "kind": self.kind,
            "tags": self.tags,
            "content": self.content,
            "sig": self.sig,
        }

    def to_json(self) -> str:
        """Compact JSON with the fields in NIP-01 order (the form minga stores)."""
        if self.raw is not None:
            return self.raw
        return _dumps(self.to_dict())

    @property
    def kind_class(self) -> KindClass:
        return kind_class(self.kind)

    def tag_values(self, name: str) -> list[str]:
        """The values (second elements) of every tag called ``name``."""
        return [t[1] for t in self.tags if len(t) > 1 and t[0] == name]

    def first_tag_value(self, name: str) -> str | None:
        for t in self.tags:
            if len(t) > 1 and t[0] == name:
                return t[1]
        return None

    @property
    def d_tag(self) -> str:
        """The ``d`` identifier of an addressable event ("" when absent)."""
        return self.first_tag_value("d") or ""

    @property
    def address(self) -> str | None:
        """``kind:pubkey:d`` for addressable, ``kind:pubkey:`` for replaceable events."""
        klass = kind_class(self.kind)
        if klass is KindClass.ADDRESSABLE:
            return f"{self.kind}:{self.pubkey}:{self.d_tag}"
        if klass is KindClass.REPLACEABLE:
            return f"{self.kind}:{self.pubkey}:"
        return None

    @property
    def is_protected(self) -> bool:
        """NIP-70: carries the ``["-"]`` tag."""
        return any(len(t) == 1 and t[0] == "-" for t in self.tags)

    @property
    def expiration(self) -> int | None:
        """NIP-40 expiration time, if the event has a well-formed one."""
        value = self.first_tag_value("expiration")
        if value is None or not value.isdigit():
            return None
        return int(value)

    def indexed_tags(self) -> list[tuple[str, str]]:
        """(name, value) of every single-letter tag, deduplicated, as relays index them."""
        seen: dict[tuple[str, str], None] = {}
        for t in self.tags:
            if len(t) > 1 and len(t[0]) == 1 and t[0].isascii() and t[0].isalpha():
                seen[(t[0], t[1])] = None
        return list(seen)


def newer(a: Event, b: Event) -> bool:
    """True when ``a`` supersedes ``b`` for the same address (NIP-01 ordering).

    Later ``created_at`` wins; on a tie the lowest id wins.
    """
    return (a.created_at, b.id) > (b.created_at, a.id)
