"""Shared state of a running node, created at ASGI start-up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import close_old_connections, connection

from minga.blobs import tus
from minga.blobs.storage import BlobStore
from minga.config import Config
from minga.events.event import Event
from minga.events.validate import Limits
from minga.media.worker import MediaWorker
from minga.newsroom.policy import Policy
from minga.newsroom.signals import story_changed
from minga.publish.publisher import Publisher
from minga.relay.hub import Hub
from minga.relay.writer import IngestWriter
from minga.store import ingest as store_ingest
from minga.store.visibility import Visibility
from minga.sync.mailbox.service import Mailbox
from minga.sync.mesh.service import MeshService
from minga.sync.service import SyncService

log = logging.getLogger(__name__)
T = TypeVar("T")
CURRENT: Node | None = None  # the node this process serves (set while it runs)
ROSTER_REFRESH_SECONDS = 5.0


def limits_from(config: Config) -> Limits:
    return Limits(
        max_content_chars=config.max_content_chars,
        max_event_tags=config.max_event_tags,
        max_tag_bytes=config.max_tag_bytes,
        max_index_value_bytes=config.max_index_value_bytes,
        created_at_future_seconds=config.created_at_future_seconds,
        max_json_bytes=config.max_message_bytes,
    )


def _identity() -> tuple[str | None, str | None]:
    from minga.keys.models import CustodialKey, Purpose
    from minga.newsroom.models import Outlet

    outlet = Outlet.current()
    node = CustodialKey.objects.filter(purpose=Purpose.NODE).first()
    close_old_connections()
    return (outlet.pubkey if outlet else None, node.pubkey if node else None)


class Node:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.limits = limits_from(config)
        self.visibility = Visibility(
            frozenset(config.private_kinds), frozenset(config.embargo_kinds)
        )
        self.blobs = BlobStore(config.data_path / "blobs")
        self.hub = Hub(self.visibility, config.max_connections)
        self.readers = ThreadPoolExecutor(4, thread_name_prefix="store-reader")
        self.outlet: str | None = None
        self.node_pubkey: str | None = None
        self.policy = Policy(None, None, open_writes=config.open_writes)
        self.writer: IngestWriter
        self.uploads = config.data_path / "uploads"
        self.media = MediaWorker(self.blobs, self.uploads)
        self.publisher: Publisher
        self.sync: SyncService | None = None
        self.mailbox: Mailbox | None = None
        self.mesh: MeshService | None = None

    def read(self, func: Callable[[], T]) -> T:
        """Run store work on a reader thread with a healthy connection."""
        connection.close_if_unusable_or_obsolete()
        return func()

    async def call(self, func: Callable[..., T], *args: Any) -> T:
        """Await ``func(*args)`` on a reader thread (ORM and store work)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.readers, self.read, lambda: func(*args))

    def _close_reader_connections(self) -> None:
        # Each reader thread holds its own connection; a barrier makes every
        # thread take one of these tasks, so every connection is closed.
        count = self.readers._max_workers
        barrier = threading.Barrier(count)

        def close() -> None:
            connection.close()
            barrier.wait(timeout=10)

        for future in [self.readers.submit(close) for _ in range(count)]:
            future.result()

    def _stored(self, events: list[Event], private: frozenset[str]) -> None:
        # Called in the committing thread, after the commit.
        self.policy.on_stored(events)
        self.hub.publish_threadsafe(events, private)

    def _mesh_refusal(self, event: Event, collective: bool) -> str | None:
        # A message from one of the collective's nodes is taken as the node's own peer.
        authed = (self.node_pubkey,) if collective and self.node_pubkey else ()
        return self.policy.write_refusal(event, authed)

    def _story_changed(self, sender: Any, key: str, **kwargs: Any) -> None:
        self.hub.story_changed_threadsafe(key)

    async def _refresh_roster(self) -> None:
        # Another process (e.g. `minga roster revoke`) may change the roster.
        while True:
            await asyncio.sleep(ROSTER_REFRESH_SECONDS)
            try:
                await self.call(self.policy.refresh)
            except Exception:
                log.exception("could not re-read the roster")

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        self.hub.loop = loop
        removed = await loop.run_in_executor(None, self.blobs.clean_tmp)
        if removed:
            log.info("removed %d partial blob writes left by an earlier stop", removed)
        self.uploads.mkdir(parents=True, exist_ok=True)
        expired = await self.call(tus.sweep, self.uploads)
        if expired:
            log.info("removed %d expired resumable uploads", expired)
        await self.call(self.media.start)
        self.outlet, self.node_pubkey = await loop.run_in_executor(self.readers, _identity)
        self.policy = Policy(
            self.outlet,
            self.node_pubkey,
            open_writes=self.config.open_writes,
            peers=[key for _url, key in self.config.peers],
        )
        await self.call(self.policy.refresh)
        self.publisher = Publisher(self.config, self.blobs, self.outlet)
        store_ingest.add_listener(self.publisher.on_stored)
        self.publisher.start()
        refresher = loop.create_task(self._refresh_roster(), name="roster-refresh")
        self.writer = IngestWriter(
            self.visibility, self.config.write_batch, on_ephemeral=self.hub.publish_ephemeral
        )
        self.writer.start()
        store_ingest.add_listener(self._stored)
        self.sync = SyncService(self)
        await self.sync.start()
        store_ingest.add_listener(self.sync.on_stored)
        self.mailbox = Mailbox(self)  # public relays as mailboxes, when configured
        await self.mailbox.start()
        if self.config.mesh_enabled:  # Mesh radio
            self.mesh = MeshService(self.config, self.visibility, self.limits, self._mesh_refusal)
            await self.call(self.mesh.prepare)
            self.mesh.start()  # on this (main) thread: see minga.sync.mesh.transport
            store_ingest.add_listener(self.mesh.on_stored)
        story_changed.connect(self._story_changed)
        global CURRENT
        CURRENT = self
        log.info("relay at %s", self.config.relay_url)
        try:
            yield
        finally:
            refresher.cancel()
            CURRENT = None
            story_changed.disconnect(self._story_changed)
            store_ingest.remove_listener(self._stored)
            if self.mesh is not None:
                store_ingest.remove_listener(self.mesh.on_stored)
                await loop.run_in_executor(None, self.mesh.stop)
                self.mesh = None
            if self.mailbox is not None:
                await self.mailbox.stop()
                self.mailbox = None
            if self.sync is not None:
                store_ingest.remove_listener(self.sync.on_stored)
                await self.sync.stop()
                self.sync = None
            store_ingest.remove_listener(self.publisher.on_stored)
            await loop.run_in_executor(None, self.publisher.stop)
            await loop.run_in_executor(None, self.media.stop)
            await self.writer.stop()
            await loop.run_in_executor(None, self._close_reader_connections)
            self.readers.shutdown(wait=True)
