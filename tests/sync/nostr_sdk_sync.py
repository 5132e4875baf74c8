"""nostr-sdk (rust-nostr) reconciling with a minga relay over NIP-77, as its own process.

``python nostr_sdk_sync.py URL EVENTS.json FILTER.json``: the client's
database starts with the events of EVENTS.json, then ``Client.sync`` (down)
runs against URL as a dry run (reconciliation only); prints one JSON object:
the ids nostr-sdk found it lacks (``remote``) and the relay lacks (``local``),
whether the relay was a success. Not a full sync: this build of the binding
ships no database, and with one written in Python its fetch of the events
stalls, so the test fetches them by id itself. Kept out of the pytest process like tests/interop's client.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import sys

import nostr_sdk as n


class MemoryDatabase(n.NostrDatabase):
    """The smallest nostr-sdk database (this build of the binding ships none)."""

    def __init__(self) -> None:
        self.events: dict[str, n.Event] = {}

    def backend(self) -> str:
        return "memory"

    def features(self) -> n.NostrDatabaseFeatures:
        return n.NostrDatabaseFeatures(
            persistent=False,
            event_expiration=False,
            full_text_search=False,
            request_to_vanish=False,
        )

    async def save_event(self, event: n.Event) -> n.SaveEventStatus:
        self.events[event.id().to_hex()] = event
        return n.SaveEventStatus.success()

    async def check_id(self, event_id: n.EventId) -> n.DatabaseEventStatus:
        if event_id.to_hex() in self.events:
            return n.DatabaseEventStatus.SAVED
        return n.DatabaseEventStatus.NOT_EXISTENT

    async def event_by_id(self, event_id: n.EventId) -> n.Event | None:
        return self.events.get(event_id.to_hex())

    async def count(self, filter: n.Filter) -> int:
        return len(await self.query(filter))

    async def query(self, filter: n.Filter) -> list[n.Event]:
        return [e for e in self.events.values() if filter.match_event(e)]

    async def delete_events(self, filter: n.Filter) -> None:
        for key, event in list(self.events.items()):
            if filter.match_event(event):
                del self.events[key]

    async def wipe(self) -> None:
        self.events.clear()


async def main(url: str, events_path: str, filter_path: str) -> None:
    database = MemoryDatabase()
    client = n.ClientBuilder().database(database).build()
    with open(events_path) as f:
        for raw in json.load(f):
            await database.save_event(n.Event.from_json(json.dumps(raw)))
    await client.add_relay(n.RelayUrl.parse(url))
    await client.connect()
    with open(filter_path) as f:
        flt = n.Filter.from_json(f.read())
    opts = n.SyncOptions().direction(n.SyncDirection.DOWN).dry_run()
    output = await client.sync(flt, opts=opts)
    stored = list(database.events.values())
    print(
        json.dumps(
            {
                "local": sorted(i.to_hex() for i in output.report.local),
                "remote": sorted(i.to_hex() for i in output.report.remote),
                "success": [str(u) for u in output.success],
                "failed": {str(k): v for k, v in output.failed.items()},
                "stored": sorted(e.id().to_hex() for e in stored),
            }
        ),
        flush=True,
    )
    await client.shutdown()


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(*sys.argv[1:4]), datetime.timedelta(seconds=60).seconds))
