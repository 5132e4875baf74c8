"""Keeping one peer node in step: live events both ways, negentropy after a cut.

While connected to a peer's relay (authenticated with this node's key, which
the peer trusts through its own ``peers`` setting):

- a live subscription brings the peer's new events as they are stored;
- this node's new events go to the peer — pushed over this connection, unless
  the peer is itself subscribed to this node (then it pulls them; pushing too
  would send everything twice over a thin link);
- on every (re)connection and then every ``sync_interval`` seconds, a NIP-77
  reconciliation over *every* stored row finds what either side lacks; the
  missing events are fetched by id and the peer's missing ones pushed.

A cut of any length ends the same way: reconnect (with backoff), reconcile,
exchange the difference. Nothing is sent that the other side already holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import TYPE_CHECKING, Any

from minga.events.validate import check_id, check_shape
from minga.exceptions import MingaError, SyncError
from minga.sync import linkstate
from minga.sync.client import RelayClient
from minga.sync.models import Role

if TYPE_CHECKING:
    from minga.sync.service import SyncService

log = logging.getLogger(__name__)

FETCH_CHUNK = 200  # ids per REQ: well under every relay's filter limit
PUSH_WINDOW = 64  # events in flight waiting for their OK
# A cut is noticed within PING_EVERY + PING_PATIENCE seconds; while it lasts
# the node tries again every few seconds (a TCP SYN: nothing on a dead link),
# so a healed link is used within seconds, however long the cut was.
RECONNECT_FIRST = 1.0
RECONNECT_MAX = 3.0
OPEN_TIMEOUT = 6.0
PING_EVERY = 5.0
PING_PATIENCE = 15.0
CATCH_UP_SLACK = 120  # seconds of created_at before the newest event seen live
CATCH_UP_LIMIT = 1000  # newest events asked for on reconnecting; negentropy does the rest


class PeerSync:
    def __init__(self, service: SyncService, url: str, pubkey: str) -> None:
        self.service = service
        self.url = url
        self.pubkey = pubkey
        self.client: RelayClient | None = None
        self.outgoing: asyncio.Queue[tuple[str, str]] = asyncio.Queue(100_000)
        self.wake = asyncio.Event()
        self._sub_events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._saved = (0, 0)  # bytes in/out of this session already counted

    # -- the loop ------------------------------------------------------------------

    async def run(self) -> None:
        wait = RECONNECT_FIRST
        while True:
            started = time.monotonic()
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except MingaError as exc:
                await self._record_error(exc.message)
            except Exception as exc:
                log.exception("sync with %s failed", self.url)
                await self._record_error(f"{type(exc).__name__}: {exc}")
            finally:
                if self.client is not None:
                    await self.client.close()
                    self.client = None
                await self.service.call(linkstate.disconnected, Role.PEER, self.url)
            if time.monotonic() - started > 60:
                wait = RECONNECT_FIRST  # it was a working session: come back quickly
            await asyncio.sleep(wait * random.uniform(0.7, 1.3))
            wait = min(RECONNECT_MAX, wait * 2)

    async def _record_error(self, message: str) -> None:
        log.info("sync with %s: %s", self.url, message)
        await self.service.call(linkstate.failed, Role.PEER, self.url, message)

    async def _session(self) -> None:
        self._saved = (0, 0)
        client = RelayClient(
            self.url,
            self.service.key,
            self._on_event,
            timeout=60,
            open_timeout=OPEN_TIMEOUT,
            ping_interval=PING_EVERY,
            ping_timeout=PING_PATIENCE,
        )
        self.client = client
        await self.service.call(linkstate.attempt, Role.PEER, self.url)
        await client.open()
        await self.service.call(linkstate.connected, Role.PEER, self.url)
        log.info("sync: connected to %s", self.url)
        # Live first, so nothing stored meanwhile is missed; it starts with the
        # newest events since the last one seen (one round trip brings what was
        # filed during a short cut), negentropy then finds anything else.
        cursor = await self.service.call(linkstate.cursor, Role.PEER, self.url)
        live: dict[str, Any] = {"limit": 0}
        if cursor:
            live = {"since": max(0, cursor - CATCH_UP_SLACK), "limit": CATCH_UP_LIMIT}
        await client.subscribe("live", [live])
        # Drop what was queued for push while disconnected: reconciliation covers it.
        while not self.outgoing.empty():
            self.outgoing.get_nowait()
        tasks = [
            asyncio.create_task(self._ingest_live(), name=f"sync-in {self.url}"),
            asyncio.create_task(self._push_live(client), name=f"sync-out {self.url}"),
            asyncio.create_task(self._reconcile_loop(client), name=f"sync-neg {self.url}"),
        ]
        closed = client.closed
        assert closed is not None
        try:
            waiting: list[asyncio.Future[Any]] = [*tasks, closed]
            done, _pending = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                error = None if task is closed else task.exception()
                if error is not None:
                    raise error
            raise SyncError(f"{self.url}: {closed.result() if closed.done() else 'ended'}")
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self._save_counters(client)

    async def _save_counters(self, client: RelayClient) -> None:
        """Add the bytes moved since the last save to the link's counters."""
        bytes_in, bytes_out = client.bytes_in, client.bytes_out
        saved_in, saved_out = self._saved
        self._saved = (bytes_in, bytes_out)
        await self.service.call(
            linkstate.add_bytes, Role.PEER, self.url, bytes_in - saved_in, bytes_out - saved_out
        )

    # -- incoming ------------------------------------------------------------------

    def _on_event(self, subid: str, obj: dict[str, Any]) -> None:
        self._sub_events.put_nowait(obj)

    async def _ingest_live(self) -> None:
        while True:
            obj = await self._sub_events.get()
            batch = [obj]
            while not self._sub_events.empty() and len(batch) < 500:
                batch.append(self._sub_events.get_nowait())
            stored = await self.service.ingest(batch, self.pubkey)
            if stored:
                newest = max(int(o.get("created_at", 0)) for o in batch)
                await self.service.call(linkstate.received, Role.PEER, self.url, stored, newest)

    # -- outgoing ------------------------------------------------------------------

    def offer(self, event_id: str, raw: str) -> None:
        """A new local event for this peer (called on the event loop)."""
        if self.client is None:
            return  # not connected: the reconciliation on reconnecting sends it
        try:
            self.outgoing.put_nowait((event_id, raw))
        except asyncio.QueueFull:
            self.wake.set()  # too much at once: let reconciliation do it

    async def _push_live(self, client: RelayClient) -> None:
        while True:
            event_id, raw = await self.outgoing.get()
            batch = [(event_id, raw)]
            while not self.outgoing.empty() and len(batch) < PUSH_WINDOW:
                batch.append(self.outgoing.get_nowait())
            sent = await self._push(client, batch)
            if sent:
                await self.service.call(linkstate.sent, Role.PEER, self.url, sent)

    async def _push(self, client: RelayClient, items: list[tuple[str, str]]) -> int:
        """Send events, ``PUSH_WINDOW`` at a time; return how many the peer took.

        A refusal is logged and counted as a failure of the link (the peer's
        roster may be behind: the next reconciliation offers it again)."""
        taken = 0
        for start in range(0, len(items), PUSH_WINDOW):
            chunk = items[start : start + PUSH_WINDOW]
            results = await asyncio.gather(
                *(client.publish(raw, event_id) for event_id, raw in chunk)
            )
            for (event_id, _raw), (ok, message) in zip(chunk, results, strict=True):
                if ok:
                    taken += 1
                else:
                    log.info("peer %s refused %s: %s", self.url, event_id[:12], message)
                    await self.service.call(
                        linkstate.failed, Role.PEER, self.url, f"refused {event_id[:12]}: {message}"
                    )
        return taken

    # -- reconciliation ------------------------------------------------------------

    async def _reconcile_loop(self, client: RelayClient) -> None:
        while True:
            await self.reconcile(client)
            self.wake.clear()
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.service.config.sync_interval)

    async def reconcile(self, client: RelayClient) -> None:
        from minga.sync.reconcile import reconcile

        service = self.service
        started = int(time.time())
        items = await service.call(service.local_items)
        subid = f"neg{random.getrandbits(32):08x}"
        send, receive = client.negentropy_channel(subid)
        try:
            result = await reconcile(send, receive, subid, {}, items)
        finally:
            client.end_negentropy(subid)
        await service.call(
            linkstate.pending, Role.PEER, self.url, len(result.need), len(result.have)
        )
        log.info(
            "sync with %s: %d to fetch, %d to send (%d rounds, %d/%d bytes)",
            self.url,
            len(result.need),
            len(result.have),
            result.rounds,
            result.bytes_sent,
            result.bytes_received,
        )
        fetched = await self._fetch(client, result.need)
        pushed = 0
        for start in range(0, len(result.have), 500):
            ids = result.have[start : start + 500]
            raws = await service.call(service.raw_events, ids)
            pushed += await self._push(client, [(i, raws[i]) for i in ids if i in raws])
        await self._save_counters(client)
        await service.call(
            linkstate.reconciled,
            Role.PEER,
            self.url,
            started,
            fetched,
            pushed,
            len(result.need) - fetched,
            len(result.have) - pushed,
        )

    async def _fetch(self, client: RelayClient, ids: list[str]) -> int:
        """Fetch and store ``ids``, skipping those another peer is bringing."""
        stored = 0
        ids = self.service.claim(ids)
        try:
            for start in range(0, len(ids), FETCH_CHUNK):
                chunk = ids[start : start + FETCH_CHUNK]
                events = await client.fetch([{"ids": chunk, "limit": len(chunk)}])
                wanted = set(chunk)
                events = [e for e in events if isinstance(e, dict) and e.get("id") in wanted]
                stored += await self.service.ingest(events, self.pubkey, fetched=True)
        finally:
            self.service.unclaim(ids)
        if stored:
            self.service.wake_others(self)  # they reconcile with us, not forward
        return stored


def parse_incoming(obj: dict[str, Any], limits: Any) -> Any:
    """A received event, shape- and id-checked (the signature is checked at ingest)."""
    return check_id(check_shape(obj, limits))
