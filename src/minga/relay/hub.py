"""Fan-out of newly stored events to the live subscriptions of this process."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from minga.events.event import Event
from minga.store.visibility import Visibility

if TYPE_CHECKING:
    from minga.relay.connection import Connection


class Hub:
    def __init__(self, visibility: Visibility, max_connections: int) -> None:
        self.visibility = visibility
        self.max_connections = max_connections
        self.connections: set[Connection] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        # Server-sent event streams (the desk): they get every stored event,
        # private ones too, and workflow changes; they check access themselves.
        self.watchers: set[asyncio.Queue[tuple[str, Any]]] = set()

    def add(self, connection: Connection) -> bool:
        if len(self.connections) >= self.max_connections:
            return False
        self.connections.add(connection)
        return True

    def remove(self, connection: Connection) -> None:
        self.connections.discard(connection)

    def watch(self) -> asyncio.Queue[tuple[str, Any]]:
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(1000)
        self.watchers.add(queue)
        return queue

    def unwatch(self, queue: asyncio.Queue[tuple[str, Any]]) -> None:
        self.watchers.discard(queue)

    def _tell_watchers(self, kind: str, payload: Any) -> None:
        for queue in list(self.watchers):
            try:
                queue.put_nowait((kind, payload))
            except asyncio.QueueFull:
                self.watchers.discard(queue)  # a stuck stream: it reconnects

    def story_changed_threadsafe(self, key: str) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._tell_watchers, "story", key)

    def publish(self, events: list[Event], private: frozenset[str]) -> None:
        """Deliver stored ``events`` (on the event loop's thread); ``private``
        holds the ids the store keeps private (private kinds, embargo)."""
        if self.watchers:
            self._tell_watchers("events", events)
        if not self.connections:
            return
        items = [(e, e.to_json(), e.id in private) for e in events]
        for connection in list(self.connections):
            connection.deliver(items)

    def publish_ephemeral(self, events: list[Event]) -> None:
        private = frozenset(e.id for e in events if self.visibility.is_private(e))
        self.publish(events, private)

    def publish_threadsafe(self, events: list[Event], private: frozenset[str]) -> None:
        """Deliver ``events`` from any thread (the store calls this after a commit)."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.publish, events, private)
