"""The mailboxes in a running node: an outbox thread and an inbox task.

Started by the node's lifespan only when the outlet names mailbox relays
(``outbox_relays`` or ``inbox_relays``): a node configured for none makes no
outside connection. At start the outlet's relay list (NIP-65) is signed and
stored if the settings changed it, and its profile and relay list are queued
for the outbox relays; from then on a store listener queues what is stored.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import close_old_connections, connection

from minga.events.event import Event
from minga.events.kinds import FOLLOW_SET, METADATA
from minga.events.signing import SecretKey
from minga.exceptions import NotFound
from minga.publish import jobs
from minga.store import ingest as store_ingest
from minga.store.models import StoredEvent
from minga.sync.mailbox import outbox, relaylist
from minga.sync.mailbox.inbox import Inbox
from minga.sync.models import RelayPost

if TYPE_CHECKING:
    from minga.node.runtime import Node

log = logging.getLogger(__name__)
POLL_SECONDS = 60.0
MAX_WATCHED = 50  # relays the inbox watches at most


@dataclass(frozen=True)
class Identity:
    node: SecretKey | None
    outlet: SecretKey | None
    outlet_pubkey: str


def _identity(outlet_pubkey: str | None) -> Identity:
    from minga.keys import custody
    from minga.keys.models import Purpose

    def load(purpose: str) -> SecretKey | None:
        try:
            return custody.load_purpose(purpose)
        except NotFound:
            return None

    return Identity(load(Purpose.NODE), load(Purpose.OUTLET), outlet_pubkey or "")


def normalized(urls: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(u for u in map(relaylist.normalize, urls) if u))


class Mailbox:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.config = node.config
        self.outbox_relays = normalized(self.config.outbox_relays)
        self.inbox_relays = normalized(self.config.inbox_relays)
        self.active = bool(self.outbox_relays or self.inbox_relays)
        self.stored: queue.Queue[tuple[list[Event], frozenset[str]] | None] = queue.Queue()
        self.wake = threading.Event()
        self.relay_wake = {url: threading.Event() for url in self.outbox_relays}
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.inbox: Inbox | None = None
        self.keys: outbox.Keys | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    # -- life -----------------------------------------------------------------
    async def start(self) -> None:
        if not self.active:
            return
        self.loop = asyncio.get_running_loop()
        ident = await self.node.call(_identity, self.node.outlet)
        peers = tuple(key for _url, key in self.config.peers)
        own = {k.pubkey for k in (ident.node, ident.outlet) if k is not None}
        recipients = tuple(dict.fromkeys(k for k in peers if k not in own))
        if ident.outlet is None and ident.outlet_pubkey:
            recipients += (ident.outlet_pubkey,)  # the outlet key is kept elsewhere
        self.keys = outbox.Keys(ident.node, ident.outlet, ident.outlet_pubkey, recipients)
        store_ingest.add_listener(self.on_stored)
        await self.node.call(self._announce, ident)
        await self.node.call(jobs.recover, RelayPost, lambda _job: True)  # resending is harmless
        self.thread = threading.Thread(target=self._outbox_loop, name="mailbox-out", daemon=True)
        self.thread.start()
        keys = [k for k in (ident.node, ident.outlet) if k is not None]
        if keys:
            forwarders = frozenset(peers) | {k.pubkey for k in keys}
            self.inbox = Inbox(
                policy=self.node.policy,
                submit=self.node.writer.submit,
                call=self.node.call,
                limits=self.node.limits,
                keys=keys,
                forwarders=forwarders,
                plan=self._plan,
                retry_max_seconds=float(self.config.retry_max_seconds),
            )
            self.inbox.start()

    async def stop(self) -> None:
        if not self.active:
            return
        store_ingest.remove_listener(self.on_stored)
        if self.inbox is not None:
            await self.inbox.stop()
        self.stopping.set()
        self.stored.put(None)
        self.wake.set()
        if self.thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.thread.join, 60)

    # -- what to send (store listener, in the committing thread) -------------
    def on_stored(self, events: list[Event], private: frozenset[str]) -> None:
        self.stored.put((events, private))
        self.wake.set()
        outlet = self.keys.outlet_pubkey if self.keys else ""
        if self.inbox is not None and self.loop is not None:
            changes_plan = any(
                e.kind == relaylist.RELAY_LIST or (e.kind == FOLLOW_SET and e.pubkey == outlet)
                for e in events
            )
            if changes_plan:
                self.loop.call_soon_threadsafe(self.inbox.replan)

    def _announce(self, ident: Identity) -> None:
        """Sign the outlet's relay list if the settings changed it; queue it and the profile."""
        if ident.outlet is not None:
            relaylist.ensure(ident.outlet, self.outbox_relays, self.inbox_relays)
        if not ident.outlet_pubkey:
            return
        current = StoredEvent.objects.filter(
            pubkey=ident.outlet_pubkey,
            kind__in=[METADATA, relaylist.RELAY_LIST],
            current=True,
            private=False,
            deleted=False,
        ).values_list("event_id", flat=True)
        outbox.enqueue(list(current), self.outbox_relays)

    def _plan(self) -> dict[str, tuple[str, ...]]:
        """Which relays to watch, for which authors (on a reader thread)."""
        roster = self.node.policy.roster
        members = sorted(roster.current().members) if roster is not None else []
        outlet = self.keys.outlet_pubkey if self.keys else ""
        authors = tuple([*members, outlet] if outlet else members)
        relays = dict.fromkeys(self.inbox_relays)
        for urls in relaylist.write_relays(members).values():
            relays.update(dict.fromkeys(urls))
        return dict.fromkeys(list(relays)[:MAX_WATCHED], authors)

    # -- the outbox thread ------------------------------------------------------
    def _outbox_loop(self) -> None:
        """Turn stored batches into posts, and wake the relay threads."""
        relays = [
            threading.Thread(
                target=self._relay_loop, args=(url,), name=f"mailbox {url}", daemon=True
            )
            for url in self.outbox_relays
        ]
        for thread in relays:
            thread.start()
        while not self.stopping.is_set():
            self.wake.wait(POLL_SECONDS)
            self.wake.clear()
            if self.stopping.is_set():
                break
            try:
                close_old_connections()
                if self._queue_stored():
                    for event in self.relay_wake.values():
                        event.set()
            except Exception:
                log.exception("mailbox: could not queue stored events")
        for event in self.relay_wake.values():
            event.set()
        for thread in relays:
            thread.join(timeout=60)
        connection.close()

    def _relay_loop(self, relay: str) -> None:
        """Post what is due to one relay, then sleep until more is (one thread per relay)."""
        assert self.keys is not None
        wake = self.relay_wake[relay]
        wait = 0.0
        while not self.stopping.is_set():
            wake.wait(wait)
            wake.clear()
            if self.stopping.is_set():
                break
            try:
                close_old_connections()
                while outbox.send_round(
                    relay, self.keys, self.config.mailbox_max_event_bytes, stopping=self.stopping
                ):
                    if self.stopping.is_set():
                        break
                due = outbox.due_in(relay)
                wait = POLL_SECONDS if due is None else min(POLL_SECONDS, max(due, 0.05))
            except Exception:
                log.exception("mailbox: posting to %s failed", relay)
                wait = 5.0
        connection.close()

    def _queue_stored(self) -> int:
        """Record the posts owed for what was stored; return how many were recorded."""
        assert self.keys is not None
        wrap_private = bool(self.keys.recipients)
        recorded = 0
        while True:
            try:
                item = self.stored.get_nowait()
            except queue.Empty:
                return recorded
            if item is None:
                return recorded
            events, private = item
            ids, released = outbox.select(
                events,
                private,
                self.keys.outlet_pubkey,
                frozenset(self.config.embargo_kinds),
                wrap_private,
            )
            recorded += outbox.enqueue(ids, self.outbox_relays, renew=released)
