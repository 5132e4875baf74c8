"""What the desk sees: everything arriving, newest first, with the workflow state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext as _

from minga.events.event import Event
from minga.events.filters import Filter
from minga.events.kinds import FILE_METADATA, LONG_FORM, NOTE
from minga.keys.nip19 import npub_encode
from minga.newsroom.models import Person, State, Story
from minga.store.query import query

KINDS = {"dispatch": LONG_FORM, "note": NOTE, "media": FILE_METADATA}
LABELS = {LONG_FORM: "Dispatch", NOTE: "Note", FILE_METADATA: "Media"}


@dataclass
class Item:
    event: Event
    key: str
    kind: int
    label: str
    title: str
    excerpt: str
    author: str
    pubkey: str
    language: str
    place: str
    hashtags: list[str]
    when: datetime
    state: str = State.FILED
    state_label: str = ""
    number: int | None = None
    note: str = ""
    story_id: int | None = None
    thumbs: list[str] = field(default_factory=list)

    @property
    def dom_id(self) -> str:
        return f"item-{self.event.id[:16]}"


def _names(pubkeys: set[str]) -> dict[str, str]:
    names = dict(Person.objects.filter(pubkey__in=pubkeys).values_list("pubkey", "name"))
    for pubkey in pubkeys - names.keys():
        npub = npub_encode(pubkey)
        names[pubkey] = f"{npub[:12]}…{npub[-4:]}"
    return names


def _thumbs(event: Event) -> list[str]:
    urls = []
    for tag in event.tags:
        if tag[0] == "imeta":
            parts = dict(p.split(" ", 1) for p in tag[1:] if " " in p)
            mime = parts.get("m", "")
            if mime.startswith("image/") and "url" in parts:
                urls.append(parts["url"])
            elif "image" in parts:
                urls.append(parts["image"])
        elif tag[0] in ("thumb", "image") and len(tag) > 1 and event.kind == FILE_METADATA:
            urls.append(tag[1])
    if event.kind == FILE_METADATA and not urls:
        url = event.first_tag_value("url")
        mime = event.first_tag_value("m") or ""
        if url and mime.startswith("image/"):
            urls.append(url)
    return urls[:4]


def to_items(events: list[Event]) -> list[Item]:
    keys = [e.address or e.id for e in events]
    stories = {s.key: s for s in Story.objects.filter(key__in=keys)}
    names = _names({e.pubkey for e in events})
    out = []
    for event, key in zip(events, keys, strict=True):
        text = event.content
        excerpt = " ".join(text.split())[:240]
        story = stories.get(key)
        state = story.state if story else State.FILED
        item = Item(
            event=event,
            key=key,
            kind=event.kind,
            label=_(LABELS.get(event.kind, "Event")),
            title=event.first_tag_value("title") or "",
            excerpt=excerpt,
            author=names[event.pubkey],
            pubkey=event.pubkey,
            language=event.first_tag_value("l") or "",
            place=event.first_tag_value("location") or "",
            hashtags=event.tag_values("t")[:8],
            when=datetime.fromtimestamp(event.created_at, tz=UTC),
            state=state,
            state_label=State.label(state),
            number=story.number if story else None,
            note=story.note if story else "",
            story_id=story.pk if story else None,
            thumbs=_thumbs(event),
        )
        out.append(item)
    return out


@dataclass(frozen=True)
class Filters:
    reporter: str = ""
    kind: str = ""
    state: str = ""
    language: str = ""
    place: str = ""

    @classmethod
    def from_query(cls, params: Any) -> Filters:
        def pick(name: str, allowed: set[str] | None = None) -> str:
            value = str(params.get(name, "")).strip()[:100]
            return value if allowed is None or value in allowed else ""

        return cls(
            reporter=pick("reporter") if len(str(params.get("reporter", ""))) == 64 else "",
            kind=pick("kind", set(KINDS)),
            state=pick("state", {value for value, _ in State.choices}),
            language=pick("language"),
            place=pick("place"),
        )

    def nostr_filter(self, limit: int) -> Filter:
        kinds = frozenset([KINDS[self.kind]] if self.kind else KINDS.values())
        authors = frozenset([self.reporter]) if self.reporter else None
        tags = {"l": frozenset([self.language])} if self.language else {}
        return Filter(kinds=kinds, authors=authors, tags=tags, limit=limit)

    def keep(self, item: Item) -> bool:
        if self.state and (item.kind == FILE_METADATA or item.state != self.state):
            return False
        return not (self.place and self.place.lower() not in item.place.lower())

    def matches_event(self, event: Event) -> bool:
        """For live updates: the part of the filters an event alone can answer."""
        return self.nostr_filter(1).matches(event)

    def as_query(self) -> str:
        from urllib.parse import urlencode

        return urlencode({k: v for k, v in self.__dict__.items() if v})


def items(filters: Filters, limit: int = 60) -> list[Item]:
    # State and place are not in the events: read more, keep what matches.
    wanted = limit * 4 if (filters.state or filters.place) else limit
    rows = query([filters.nostr_filter(wanted)], private=True)
    found = [i for i in to_items([r.event() for r in rows]) if filters.keep(i)]
    return found[:limit]


def items_for_author(pubkey: str, limit: int = 30) -> list[Item]:
    rows = query(
        [Filter(kinds=frozenset([LONG_FORM, NOTE]), authors=frozenset([pubkey]), limit=limit)],
        private=True,
    )
    return to_items([r.event() for r in rows])


def reporters() -> list[Person]:
    return list(Person.objects.filter(active=True).order_by("name"))
