"""What the outlet has published, read from the event store.

The public record is made of events only, so any node holding the outlet's
events (a mirror, a node that synced them) builds the same catalogue:

- a publication is the outlet's NIP-18 repost (kind 16 of a dispatch with a
  ``number`` tag, kind 6 of a note) that no outlet deletion has withdrawn;
- the dispatch shown is the newest public version of its address; every
  version stays listed (version history) and a version carrying a
  ``correction`` tag is a public correction;
- a retraction is the outlet's kind 5 against its repost: the page stays, with
  the public note, and the content goes;
- media come from the authors' NIP-94 records (kind 1063) matched by the
  ``x`` of the item's ``imeta`` tags; bylines from the authors' kind 0.

The catalogue lives in memory (a node keeps one and refreshes single items
as the desk publishes) and every collection is kept in a stable order, so the
same store always renders the same bytes.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from django.db import connection

from minga.events.event import Event
from minga.events.kinds import (
    DELETION,
    FILE_METADATA,
    GENERIC_REPOST,
    LIVE_EVENT,
    LONG_FORM,
    METADATA,
    NOTE,
    REPOST,
)
from minga.keys.nip19 import npub_encode

NUMBER_TAG = "number"
CORRECTION_TAG = "correction"
TRANSLATION_MARKER = "translation"
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "audio/mp4": "m4a",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "audio/webm": "weba",
}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TAG_SLUG = re.compile(r"[^0-9a-záéíóúüñ_-]+")


def _event(raw: str) -> Event:
    d = json.loads(raw)
    return Event(
        d["id"], d["pubkey"], d["created_at"], d["kind"], d["tags"], d["content"], d["sig"]
    )


def _chunks(values: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _rows(sql: str, params: Sequence[object]) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return list(cursor.fetchall())


def tag_slug(tag: str) -> str:
    """A hashtag as a path segment: lowercase, no spaces or punctuation."""
    return _TAG_SLUG.sub("", tag.strip().lstrip("#").lower())[:64]


@dataclass(frozen=True)
class File:
    """One stored file the site serves under ``media/``: named by its hash."""

    sha256: str
    mime: str
    width: int = 0
    height: int = 0

    @property
    def name(self) -> str:
        return f"{self.sha256}.{EXTENSIONS.get(self.mime, 'bin')}"


@dataclass(frozen=True)
class Media:
    """A photo, video or audio file shown with an item (its NIP-94 record)."""

    main: File
    alt: str
    size: int
    variants: tuple[File, ...] = ()
    poster: File | None = None
    caption: str = ""
    record_id: str = ""

    @property
    def family(self) -> str:
        return self.main.mime.split("/", 1)[0]

    @property
    def files(self) -> tuple[File, ...]:
        extra = (self.poster,) if self.poster else ()
        return (self.main, *self.variants, *extra)

    @property
    def thumb(self) -> File:
        return self.variants[0] if self.variants else (self.poster or self.main)


@dataclass(frozen=True)
class Author:
    pubkey: str
    name: str
    about: str = ""
    updated: int = 0  # created_at of the profile the name comes from

    @property
    def npub(self) -> str:
        return npub_encode(self.pubkey)

    @property
    def slug(self) -> str:
        return self.npub[:20]


@dataclass(frozen=True)
class Version:
    id: str
    created_at: int
    title: str
    correction: str = ""


@dataclass(frozen=True)
class Retraction:
    at: int
    note: str
    deletion_id: str


@dataclass(frozen=True)
class Item:
    """A published dispatch (kind 30023) or note (kind 1), or a retracted one."""

    key: str  # the dispatch's address, or the note's id
    kind: int
    number: int | None
    published_at: int
    repost: Event | None
    event: Event | None  # the public version; None once retracted
    author: str
    title: str = ""
    summary: str = ""
    body: str = ""
    language: str = ""
    place: str = ""
    hashtags: tuple[str, ...] = ()
    media: tuple[Media, ...] = ()
    versions: tuple[Version, ...] = ()
    translation_of: str = ""  # address of the original, for a translation
    retraction: Retraction | None = None
    # The signed events a reader can check: the outlet's repost and every public
    # version (oldest first), or the outlet's deletion once retracted.
    proofs: tuple[Event, ...] = ()

    @property
    def is_dispatch(self) -> bool:
        return self.kind == LONG_FORM

    @property
    def slug(self) -> str:
        """Path of the item's page below the site root (ends with '/')."""
        if self.number is not None:
            return f"d/{self.number}/"
        return f"n/{self.key[:16]}/"

    @property
    def translation_or_self(self) -> str:
        """The address its language versions are grouped under."""
        return self.translation_of or self.key

    @cached_property
    def updated_at(self) -> int:
        if self.retraction is not None:
            return self.retraction.at
        return max(self.published_at, self.event.created_at if self.event else 0)

    @cached_property
    def day(self) -> str:
        return datetime.fromtimestamp(self.published_at, UTC).strftime("%Y-%m-%d")

    @cached_property
    def tag_slugs(self) -> tuple[str, ...]:
        """Its hashtags as path segments, each once."""
        return tuple(dict.fromkeys(tag_slug(t) for t in self.hashtags))

    @property
    def corrections(self) -> tuple[Version, ...]:
        return tuple(v for v in self.versions if v.correction)

    @property
    def label(self) -> str:
        return f"#{self.number}" if self.number is not None else self.title


@dataclass(frozen=True)
class Live:
    """A live stream (NIP-53 kind 30311) now on air."""

    address: str
    title: str
    streaming: str
    image: str
    starts: int
    updated: int = 0


@dataclass
class Catalogue:
    outlet: str
    name: str = ""
    about: str = ""
    items: dict[str, Item] = field(default_factory=dict)
    authors: dict[str, Author] = field(default_factory=dict)
    live: list[Live] = field(default_factory=list)
    _cached: _Index | None = field(default=None, repr=False, compare=False)

    # -- reading ---------------------------------------------------------
    @classmethod
    def load(cls, outlet: str, name: str = "") -> Catalogue:
        catalogue = cls(outlet, name)
        catalogue.refresh(None)
        return catalogue

    def refresh(self, keys: Iterable[str] | None) -> set[str]:
        """Read again the items with these keys (all when None); returns the keys
        whose item appeared, changed or went."""
        before = dict(self.items) if keys is None else {k: self.items.get(k) for k in keys}
        wanted = None if keys is None else set(keys)
        fresh = _load_items(self.outlet, wanted)
        if wanted is None:
            self.items = fresh
            self._cached = None
        else:
            for key in wanted:
                old, new = self.items.get(key), fresh.get(key)
                if old == new:
                    continue
                if new is None:
                    self.items.pop(key, None)
                else:
                    self.items[key] = new
                if self._cached is not None:
                    self._cached.replace(old, new)
        self._load_people({i.author for i in fresh.values()} | {self.outlet})
        self.refresh_live()
        changed = {k for k, v in before.items() if self.items.get(k) != v}
        changed |= {k for k in fresh if before.get(k) != fresh[k]}
        return changed

    def refresh_live(self) -> None:
        self.live = _load_live(self.outlet)

    def _load_people(self, pubkeys: set[str]) -> None:
        profiles = _profiles(sorted(pubkeys))
        for pubkey in pubkeys:
            name, about, updated = profiles.get(pubkey, ("", "", 0))
            if not name:
                npub = npub_encode(pubkey)
                name = f"{npub[:12]}…{npub[-4:]}"
            self.authors[pubkey] = Author(pubkey, name, about, updated)
        if self.outlet in profiles:
            outlet_name, about, _updated = profiles[self.outlet]
            self.name = outlet_name or self.name
            self.about = about

    # -- views of it (stable orders, cached until the next refresh) -------
    def _index(self) -> _Index:
        if self._cached is None:
            self._cached = _Index.of(self.items.values())
        return self._cached

    def public(self) -> list[Item]:
        """Published, not retracted: newest first (numbers break ties)."""
        return self._index().public

    def retracted(self) -> list[Item]:
        return self._index().retracted

    def by_author(self, pubkey: str) -> list[Item]:
        return self._index().authors.get(pubkey, [])

    def by_tag(self, slug: str) -> list[Item]:
        return self._index().tags.get(slug, [])

    def by_day(self, day: str) -> list[Item]:
        return self._index().days.get(day, [])

    def tags(self) -> list[str]:
        return sorted(self._index().tags)

    def chronological(self) -> list[Item]:
        """Every item, retracted ones too, oldest first."""
        return self._index().chronological

    def days(self) -> list[str]:
        return sorted(self._index().days, reverse=True)

    def translations(self, item: Item) -> list[Item]:
        """The other language versions of an item (original and translations)."""
        if not item.is_dispatch:
            return []
        root = item.translation_of or item.key
        group = [i for i in self._index().groups.get(root, []) if i.key != item.key]
        return sorted(group, key=lambda i: (i.language, i.number or 0))

    def group(self, root: str) -> list[Item]:
        """Public language versions grouped under ``root`` (the original's address)."""
        return self._index().groups.get(root, [])

    def item_by_number(self, number: int) -> Item | None:
        return self._index().numbers.get(number)

    def newest(self) -> int:
        """The newest time of anything the site shows (publications, versions,
        retractions, profiles, live streams): the version time of the site."""
        times = [self._index().newest()]
        times += [a.updated for a in self.authors.values()]
        times += [s.updated for s in self.live]
        return max(times, default=0)

    def publishing_authors(self) -> list[str]:
        """Keys of the authors with public items."""
        return sorted(self._index().authors)


@dataclass
class _Index:
    """Sorted views of the items, kept up to date one item at a time."""

    public: list[Item]
    retracted: list[Item]
    authors: dict[str, list[Item]]
    tags: dict[str, list[Item]]
    days: dict[str, list[Item]]
    groups: dict[str, list[Item]]  # translation groups by original address
    numbers: dict[int, Item]
    chronological: list[Item]  # every item, oldest first (the sitemap's order)
    _newest: int | None = None

    def newest(self) -> int:
        if self._newest is None:
            self._newest = max((i.updated_at for i in self.chronological), default=0)
        return self._newest

    @classmethod
    def of(cls, items: Iterable[Item]) -> _Index:
        ordered = sorted(items, key=_newest_first)
        index = cls([], [], {}, {}, {}, {}, {}, [])
        for item in ordered:
            for target in index._lists(item):
                target.append(item)
            if item.number is not None:
                index.numbers[item.number] = item
        index.chronological = sorted(ordered, key=_oldest_first)
        return index

    def _lists(self, item: Item) -> list[list[Item]]:
        if item.retraction is not None:
            return [self.retracted]
        lists = [
            self.public,
            self.authors.setdefault(item.author, []),
            self.days.setdefault(item.day, []),
        ]
        lists += [self.tags.setdefault(slug, []) for slug in item.tag_slugs]
        if item.is_dispatch:
            lists.append(self.groups.setdefault(item.translation_or_self, []))
        return lists

    def replace(self, old: Item | None, new: Item | None) -> None:
        if old is not None:
            for target in self._lists(old):
                del target[bisect_left(target, _newest_first(old), key=_newest_first)]
            del self.chronological[
                bisect_left(self.chronological, _oldest_first(old), key=_oldest_first)
            ]
            if old.number is not None and self.numbers.get(old.number) is old:
                del self.numbers[old.number]
            for table in (self.authors, self.days, self.tags, self.groups):
                for name in [name for name, items in table.items() if not items]:
                    del table[name]
        self._newest = None if old is not None else self._newest
        if new is not None:
            if self._newest is not None:
                self._newest = max(self._newest, new.updated_at)
            for target in self._lists(new):
                insort(target, new, key=_newest_first)
            insort(self.chronological, new, key=_oldest_first)
            if new.number is not None:
                self.numbers[new.number] = new


def _oldest_first(item: Item) -> tuple[int, str]:
    return (item.published_at, item.key)


def _newest_first(item: Item) -> tuple[int, int, str]:
    return (-item.published_at, -(item.number if item.number is not None else -1), item.key)


def _repost_key(repost: Event) -> str | None:
    address = repost.first_tag_value("a")
    if address and repost.kind == GENERIC_REPOST:
        return address
    target = repost.first_tag_value("e")
    return target if target and _HEX64.match(target) else None


def _number(event: Event) -> int | None:
    value = event.first_tag_value(NUMBER_TAG)
    return int(value) if value is not None and value.isdigit() else None


def _load_items(outlet: str, keys: set[str] | None) -> dict[str, Item]:
    """Every publication of the outlet (or those of ``keys``) as items."""
    reposts: dict[str, Event] = {}
    withdrawn: dict[str, Event] = {}
    if keys is None:
        rows = _rows(
            "SELECT raw, deleted FROM minga_event WHERE pubkey = %s AND kind IN (%s, %s)"
            " ORDER BY created_at, id",
            [outlet, GENERIC_REPOST, REPOST],
        )
    else:  # through the tag index: one publication costs one lookup
        rows = _tagged(["a", "e"], sorted(keys), outlet, [GENERIC_REPOST, REPOST], "e.deleted")
    for raw, deleted in rows:
        repost = _event(str(raw))
        key = _repost_key(repost)
        if key is None or (keys is not None and key not in keys):
            continue
        (withdrawn if deleted else reposts)[key] = repost
    deletions: dict[str, Event] = {}
    if withdrawn:
        ids = {r.id: key for key, r in withdrawn.items()}
        for (raw,) in _tagged(["e"], sorted(ids), outlet, [DELETION]):
            deletion = _event(str(raw))
            for target in deletion.tag_values("e"):
                if target in ids:
                    deletions[ids[target]] = deletion
    addresses = [k for k, r in reposts.items() if r.kind == GENERIC_REPOST]
    notes = [k for k, r in reposts.items() if r.kind == REPOST]
    history = _versions(addresses)
    current = _notes(notes)
    for address in addresses:
        public = [v for v in history.get(address, []) if v[1]]
        if public:
            current[address] = public[-1][0]
    media = _media({e.pubkey for e in current.values()}, current.values())
    items: dict[str, Item] = {}
    for key, repost in reposts.items():
        event = current.get(key)
        if event is None:
            continue  # not public (yet): a mirror that lacks the event shows nothing
        shown = tuple(e for e, ok in history.get(key, []) if ok and e.kind == LONG_FORM)
        items[key] = _item(key, repost, event, shown or (event,), media)
    for key, repost in withdrawn.items():
        if key in items or key not in deletions:
            continue
        deletion = deletions[key]
        author = repost.first_tag_value("p") or ""
        items[key] = Item(
            key=key,
            kind=LONG_FORM if repost.kind == GENERIC_REPOST else NOTE,
            number=_number(repost),
            published_at=repost.created_at,
            repost=None,
            event=None,
            author=author if _HEX64.match(author) else outlet,
            retraction=Retraction(deletion.created_at, deletion.content, deletion.id),
            proofs=(deletion,),
        )
    return items


def _versions(addresses: list[str]) -> dict[str, list[tuple[Event, bool]]]:
    """Every version of each address, oldest first, with whether it is public."""
    found: dict[str, list[tuple[Event, bool]]] = {}
    for chunk in _chunks(addresses):
        marks = ",".join(["%s"] * len(chunk))
        for address, raw, private, deleted in _rows(
            f"SELECT address, raw, private, deleted FROM minga_event WHERE address IN ({marks})"
            " ORDER BY created_at, id",
            chunk,
        ):
            found.setdefault(str(address), []).append(
                (_event(str(raw)), not private and not deleted)
            )
    return found


def _notes(ids: list[str]) -> dict[str, Event]:
    found: dict[str, Event] = {}
    for chunk in _chunks(ids):
        marks = ",".join(["%s"] * len(chunk))
        for (raw,) in _rows(
            f"SELECT raw FROM minga_event WHERE id IN ({marks}) AND NOT private AND NOT deleted",
            chunk,
        ):
            event = _event(str(raw))
            found[event.id] = event
    return found


def _imeta_hashes(event: Event) -> list[str]:
    hashes = []
    for tag in event.tags:
        if tag[0] == "imeta":
            hashes += [p[2:] for p in tag[1:] if p.startswith("x ") and _HEX64.match(p[2:])]
    return hashes


def _tagged(
    names: list[str], values: list[str], author: str | None, kinds: list[int], extra: str = ""
) -> list[tuple[object, ...]]:
    """Public or not, events of ``kinds`` (by ``author``) with a tag ``names`` = ``values``,
    oldest first: the tag index answers, however large the store."""
    found: list[tuple[object, ...]] = []
    columns = "e.raw" + (f", {extra}" if extra else "")
    name_marks = ",".join(["%s"] * len(names))
    kind_marks = ",".join(["%s"] * len(kinds))
    by_author = " AND e.pubkey = %s" if author else ""
    for chunk in _chunks(values):
        marks = ",".join(["%s"] * len(chunk))
        found += _rows(
            f"SELECT DISTINCT {columns}, e.created_at, e.id FROM minga_tag t"
            " JOIN minga_event e ON e.seq = t.event_id"
            f" WHERE t.name IN ({name_marks}) AND t.value IN ({marks})"
            f" AND e.kind IN ({kind_marks}){by_author}",
            [*names, *chunk, *kinds, *([author] if author else [])],
        )
    found.sort(key=lambda row: (row[-2], row[-1]))
    return [row[:-2] for row in found]


def _media(authors: set[str], events: Iterable[Event]) -> dict[tuple[str, str], Media]:
    """Public NIP-94 records of these authors for the files the events show."""
    wanted = {(e.pubkey, x) for e in events for x in _imeta_hashes(e)}
    found: dict[tuple[str, str], Media] = {}
    if not wanted:
        return found
    hashes = sorted({x for _, x in wanted})
    for raw, private, deleted in _tagged(
        ["x"], hashes, None, [FILE_METADATA], "e.private, e.deleted"
    ):
        if private or deleted:
            continue
        record = _event(str(raw))
        media = media_of(record)
        if media is not None and (record.pubkey, media.main.sha256) in wanted:
            found[(record.pubkey, media.main.sha256)] = media
    return found


def _dim(text: str | None) -> tuple[int, int]:
    if text and re.fullmatch(r"\d{1,5}x\d{1,5}", text):
        w, h = text.split("x")
        return int(w), int(h)
    return 0, 0


def media_of(record: Event) -> Media | None:
    """A NIP-94 record as media, or None when it lacks what a page needs."""
    sha = record.first_tag_value("x") or ""
    mime = record.first_tag_value("m") or ""
    if not _HEX64.match(sha) or mime not in EXTENSIONS:
        return None
    width, height = _dim(record.first_tag_value("dim"))
    variants = []
    poster = None
    for tag in record.tags:
        if tag[0] == "variant" and len(tag) >= 5 and _HEX64.match(tag[2]) and tag[4] in EXTENSIONS:
            w, h = _dim(tag[3])
            variants.append(File(tag[2], tag[4], w, h))
        elif tag[0] == "image" and len(tag) >= 3 and _HEX64.match(tag[2]):
            poster = File(tag[2], "image/jpeg", width, height)
    size_text = record.first_tag_value("size") or "0"
    return Media(
        main=File(sha, mime, width, height),
        alt=(record.first_tag_value("alt") or "")[:1000],
        size=int(size_text) if size_text.isdigit() else 0,
        variants=tuple(sorted(variants, key=lambda f: (f.width, f.sha256))),
        poster=poster,
        caption=record.content[:2000],
        record_id=record.id,
    )


def _version(event: Event) -> Version:
    return Version(
        event.id,
        event.created_at,
        event.first_tag_value("title") or "",
        event.first_tag_value(CORRECTION_TAG) or "",
    )


def _language(event: Event) -> str:
    for tag in event.tags:
        if tag[0] == "l" and len(tag) >= 3 and tag[2] == "ISO-639-1":
            return tag[1][:8]
    return ""


def _translation_of(event: Event) -> str:
    for tag in event.tags:
        if tag[0] == "a" and len(tag) >= 4 and tag[3] == TRANSLATION_MARKER:
            return tag[1]
    return ""


def _item(
    key: str,
    repost: Event,
    event: Event,
    history: tuple[Event, ...],
    media: dict[tuple[str, str], Media],
) -> Item:
    shown = tuple(
        media[(event.pubkey, x)] for x in _imeta_hashes(event) if (event.pubkey, x) in media
    )
    hashtags = tuple(dict.fromkeys(t for t in event.tag_values("t") if tag_slug(t)))
    body = event.content
    title = event.first_tag_value("title") or ""
    if event.kind == NOTE:
        title = body.strip().split("\n", 1)[0][:80]
    return Item(
        key=key,
        kind=event.kind,
        number=_number(repost) if event.kind == LONG_FORM else None,
        published_at=repost.created_at,
        repost=repost,
        event=event,
        author=event.pubkey,
        title=title,
        summary=(event.first_tag_value("summary") or "")[:600],
        body=body,
        language=_language(event),
        place=(event.first_tag_value("location") or "")[:200],
        hashtags=hashtags[:20],
        media=shown,
        versions=tuple(_version(e) for e in history) if event.kind == LONG_FORM else (),
        translation_of=_translation_of(event),
        proofs=(repost, *history),
    )


def _profiles(pubkeys: list[str]) -> dict[str, tuple[str, str, int]]:
    found: dict[str, tuple[str, str, int]] = {}
    for chunk in _chunks(pubkeys):
        marks = ",".join(["%s"] * len(chunk))
        for pubkey, raw in _rows(
            f"SELECT pubkey, raw FROM minga_event WHERE kind = %s AND pubkey IN ({marks})"
            " AND current AND NOT deleted AND NOT private",
            [METADATA, *chunk],
        ):
            event = _event(str(raw))
            try:
                profile = json.loads(event.content)
            except ValueError:
                continue
            if not isinstance(profile, dict):
                continue
            name = profile.get("display_name") or profile.get("name") or ""
            about = profile.get("about") or ""
            found[str(pubkey)] = (str(name)[:100], str(about)[:1000], event.created_at)
    return found


def _load_live(outlet: str) -> list[Live]:
    streams = []
    for (raw,) in _rows(
        "SELECT raw FROM minga_event WHERE kind = %s AND current AND NOT deleted AND NOT private"
        " ORDER BY created_at DESC, id",
        [LIVE_EVENT],
    ):
        event = _event(str(raw))
        if event.first_tag_value("status") != "live" or not event.address:
            continue
        hosts = {event.pubkey, *(t[1] for t in event.tags if t[0] == "p" and len(t) > 1)}
        if outlet not in hosts and event.pubkey != outlet:
            continue
        streaming = event.first_tag_value("streaming") or ""
        starts = event.first_tag_value("starts") or ""
        streams.append(
            Live(
                event.address,
                (event.first_tag_value("title") or "")[:200],
                streaming,
                event.first_tag_value("image") or "",
                int(starts) if starts.isdigit() else event.created_at,
                event.created_at,
            )
        )
    return streams
