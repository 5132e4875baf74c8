"""The replication service of a running node: peers, blobs, releases.

Started by the node's lifespan (:mod:`minga.node.runtime`) when it has work:
configured peers, or events naming blobs it lacks. Everything that arrives
goes through the node's own ingest writer — the same verification, policy
and batching as an event sent by a client — and is remembered with the peer
it came from, so it is not echoed back there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import connection

from minga.events.event import Event
from minga.events.kinds import FOLLOW_SET
from minga.exceptions import MingaError
from minga.keys import custody
from minga.keys.models import Purpose
from minga.sync import linkstate
from minga.sync.blobs import BlobFetcher
from minga.sync.models import Role
from minga.sync.peers import PeerSync, parse_incoming
from minga.sync.releases import ReleaseFollower

if TYPE_CHECKING:
    from minga.events.signing import SecretKey
    from minga.node.runtime import Node

log = logging.getLogger(__name__)
T = TypeVar("T")
ORIGINS_KEPT = 200_000  # ids remembered with the peer they came from
FETCHED = "fetched:"  # marks an origin reached by catch-up, not live


class SyncService:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.config = node.config
        self.key: SecretKey | None = None
        self.peers: list[PeerSync] = []
        self.origins: OrderedDict[str, str] = OrderedDict()
        self.fetching: set[str] = set()  # ids a peer is fetching right now
        self.tasks: list[asyncio.Task[None]] = []
        self.blobs = BlobFetcher(self.config, node.blobs)
        self.releases = ReleaseFollower()
        self.loop: asyncio.AbstractEventLoop | None = None

    async def call(self, func: Callable[..., T], *args: Any) -> T:
        return await self.node.call(func, *args)

    # -- life ----------------------------------------------------------------------

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        try:
            self.key = await self.call(custody.load_purpose, Purpose.NODE)
        except MingaError as exc:
            if self.config.peers:
                log.error("no node key, so no peer sync (run `minga init`): %s", exc.message)
                return
        for url, pubkey in self.config.peers:
            await self.call(linkstate.ensure, Role.PEER, url, pubkey)
            peer = PeerSync(self, url, pubkey)
            self.peers.append(peer)
            self.tasks.append(asyncio.create_task(peer.run(), name=f"sync {url}"))
        self.blobs.peers = [url for url, _key in self.config.peers]
        self.blobs.key = self.key
        self.blobs.start()
        self.releases.start()

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.blobs.stop)
        await loop.run_in_executor(None, self.releases.stop)

    # -- store side (reader threads) ----------------------------------------------

    @staticmethod
    def local_items() -> list[tuple[int, bytes]]:
        from minga.sync.negentropy.store import local_items

        return local_items({}, everything=True, private=True)

    @staticmethod
    def raw_events(ids: list[str]) -> dict[str, str]:
        """The stored JSON of these events, whatever their state."""
        found: dict[str, str] = {}
        with connection.cursor() as cursor:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join(["%s"] * len(chunk))
                cursor.execute(f"SELECT id, raw FROM minga_event WHERE id IN ({marks})", chunk)
                found.update({row[0]: row[1] for row in cursor.fetchall()})
        return found

    # -- incoming ------------------------------------------------------------------

    async def ingest(
        self, objects: list[dict[str, Any]], origin: str, *, fetched: bool = False
    ) -> int:
        """Store events received from the peer whose node key is ``origin``;
        return how many were new. Invalid or refused ones are logged, not stored.

        ``fetched``: they came by catch-up, not live. They are not forwarded live
        to the other peers (each reconciles with this node, or with the node they
        came from, and fetches only what it lacks), which keeps a catch-up from
        crossing a thin link twice."""
        node = self.node
        events: list[Event] = []
        for obj in objects:
            try:
                events.append(parse_incoming(obj, node.limits))
            except MingaError as exc:
                log.warning("sync: refused an event from %s: %s", origin[:12], exc.message)
        # The outlet's events first (the roster among them): members it adds
        # are then known when their own events of the same batch are checked.
        events.sort(key=lambda e: (e.pubkey != node.outlet, e.kind != FOLLOW_SET))
        stored = 0
        first = [e for e in events if e.pubkey == node.outlet]
        for group in (first, events[len(first) :]):
            futures = []
            for event in group:
                refusal = node.policy.write_refusal(event, {origin})
                if refusal is not None:
                    log.info("sync: %s from %s refused: %s", event.id[:12], origin[:12], refusal)
                    continue
                self._remember(event.id, FETCHED + origin if fetched else origin)
                futures.append(node.writer.submit(event))
            for outcome in await asyncio.gather(*futures, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    log.warning("sync: storing failed: %s", outcome)
                elif outcome.stored:
                    stored += 1
                elif not outcome.ok:
                    log.info("sync: %s not stored: %s", outcome.event_id[:12], outcome.message)
        return stored

    def _remember(self, event_id: str, origin: str) -> None:
        self.origins[event_id] = origin
        self.origins.move_to_end(event_id)
        while len(self.origins) > ORIGINS_KEPT:
            self.origins.popitem(last=False)

    def origin(self, event_id: str) -> str | None:
        """The node key of the peer an event came from (None: not from a peer)."""
        origin = self.origins.get(event_id)
        return origin.removeprefix(FETCHED) if origin else None

    def forward_to_peers(self, event_id: str) -> bool:
        """Should a new event go live to the other peers? Not when it was fetched."""
        origin = self.origins.get(event_id)
        return origin is None or not origin.startswith(FETCHED)

    def forward(self, event_id: str, authed: set[str]) -> bool:
        """May the relay send this new event live to a connection authenticated
        as ``authed``? Not back to the peer it came from, and not to any peer
        when it came by catch-up."""
        origin = self.origins.get(event_id)
        if origin is None:
            return True
        if origin.startswith(FETCHED):
            return not self.node.policy.is_peer(authed)
        return origin not in authed

    def claim(self, ids: list[str]) -> list[str]:
        """Take the ids no other peer is fetching now (and mark them taken)."""
        free = [i for i in ids if i not in self.fetching]
        self.fetching.update(free)
        return free

    def unclaim(self, ids: list[str]) -> None:
        self.fetching.difference_update(ids)

    def wake_others(self, peer: PeerSync) -> None:
        """Events came by catch-up from ``peer``: the others reconcile soon."""
        for other in self.peers:
            if other is not peer:
                other.wake.set()

    # -- outgoing ------------------------------------------------------------------

    def on_stored(self, events: list[Event], private: frozenset[str]) -> None:
        """Store listener (committing thread): new events for peers and blobs."""
        self.blobs.on_stored(events)
        self.releases.on_stored(events)
        loop = self.loop
        if self.peers and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._offer, events)

    def _offer(self, events: list[Event]) -> None:
        for peer in self.peers:
            if self._pulls(peer.pubkey):
                continue  # the peer subscribes to this node: it has them already
            for event in events:
                if self.forward_to_peers(event.id) and self.origin(event.id) != peer.pubkey:
                    peer.offer(event.id, event.to_json())

    def _pulls(self, pubkey: str) -> bool:
        """Is the node ``pubkey`` subscribed to this relay right now?"""
        return any(
            pubkey in conn.authed and "live" in conn.subs for conn in self.node.hub.connections
        )
