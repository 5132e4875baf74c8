"""NIP-65 relay lists (kind 10002): the outlet's own, and its members'.

The outlet publishes where it writes (``outbox_relays``: its approved public
events go there) and where it reads (``inbox_relays``: the node pulls members'
events and gift wraps from there). A member's list tells the node where that
member writes, so the node looks there too. Lists come from outside: only
``ws://``/``wss://`` URLs without credentials are taken, and only so many.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from minga.events.event import Event
from minga.events.filters import Filter
from minga.events.signing import SecretKey, sign_event
from minga.store.ingest import ingest
from minga.store.query import latest, query

log = logging.getLogger(__name__)
RELAY_LIST = 10002
MAX_URL_CHARS = 300
MAX_RELAYS_PER_LIST = 20  # NIP-65 asks for 2-4; more is someone's mistake or abuse


@dataclass(frozen=True)
class RelayList:
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    skipped: list[str] = field(default_factory=list, compare=False)


def normalize(url: str) -> str | None:
    """The relay URL in the form minga compares, or None when it is not a usable one."""
    url = url.strip()
    if not url or len(url) > MAX_URL_CHARS or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("ws", "wss") or not parts.hostname:
        return None
    if parts.username or parts.password or parts.fragment:
        return None
    host = parts.hostname.lower()
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{netloc}{path}{query}"


def parse(event: Event) -> RelayList:
    """Read a kind-10002 event (already verified); unusable entries are skipped."""
    if event.kind != RELAY_LIST:
        raise ValueError("not a relay list (kind 10002)")
    read: dict[str, None] = {}
    write: dict[str, None] = {}
    skipped: list[str] = []
    for tag in event.tags:
        if len(tag) < 2 or tag[0] != "r":
            continue
        url = normalize(tag[1])
        marker = tag[2] if len(tag) > 2 else ""
        if url is None or marker not in ("", "read", "write"):
            skipped.append(tag[1][:MAX_URL_CHARS])
            continue
        if len(read.keys() | write.keys()) >= MAX_RELAYS_PER_LIST and url not in read | write:
            skipped.append(url)
            continue
        if marker in ("", "read"):
            read[url] = None
        if marker in ("", "write"):
            write[url] = None
    return RelayList(tuple(read), tuple(write), skipped)


def build(key: SecretKey, outbox: Iterable[str], inbox: Iterable[str]) -> Event:
    """The outlet's kind 10002: outbox relays are ``write``, inbox relays ``read``."""
    outbox, inbox = list(dict.fromkeys(outbox)), list(dict.fromkeys(inbox))
    tags: list[list[str]] = []
    for url in dict.fromkeys([*outbox, *inbox]):
        if url in outbox and url in inbox:
            tags.append(["r", url])
        else:
            tags.append(["r", url, "write" if url in outbox else "read"])
    return sign_event(key, RELAY_LIST, "", tags)


def ensure(key: SecretKey, outbox: Iterable[str], inbox: Iterable[str]) -> Event | None:
    """Store a new relay list for ``key`` when the settings differ from the stored one.

    Returns the new event, or None when nothing changed (or nothing was ever
    configured: no list is published for an outlet that uses no mailboxes).
    """
    outbox, inbox = tuple(dict.fromkeys(outbox)), tuple(dict.fromkeys(inbox))
    current = latest(f"{RELAY_LIST}:{key.pubkey}:")
    if current is None and not outbox and not inbox:
        return None
    if current is not None:
        stored = parse(current)
        if set(stored.write) == set(outbox) and set(stored.read) == set(inbox):
            return None
    event = build(key, outbox, inbox)
    if current is not None and event.created_at <= current.created_at:
        event = sign_event(key, RELAY_LIST, "", event.tags, current.created_at + 1)
    outcome = ingest([event])[0]
    if not outcome.ok:
        log.error("the outlet's relay list was refused by the store: %s", outcome.message)
        return None
    return event


def write_relays(pubkeys: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Each member's write relays, from the current kind 10002 in the store."""
    wanted = list(dict.fromkeys(pubkeys))
    result: dict[str, tuple[str, ...]] = {}
    if not wanted:
        return result
    for start in range(0, len(wanted), 500):
        part = frozenset(wanted[start : start + 500])
        rows = query([Filter(authors=part, kinds=frozenset([RELAY_LIST]), limit=len(part))])
        for row in rows:
            event = row.event()
            if event.pubkey not in result:
                result[event.pubkey] = parse(event).write
    return result
