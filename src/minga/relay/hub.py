"""Fan-out of newly stored events to the live subscriptions of this process."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

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

    def add(self, connection: Connection) -> bool:
        if len(self.connections) >= self.max_connections:
            return False
        self.connections.add(connection)
        return True

    def remove(self, connection: Connection) -> None:
        self.connections.discard(connection)

    def publish(self, events: list[Event], private: frozenset[str]) -> None:
        """Deliver stored ``events`` (on the event loop's thread); ``private``
        holds the ids the store keeps private (private kinds, embargo)."""
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
