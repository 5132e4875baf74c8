"""Group commit: events from every connection are stored in shared batches.

Each EVENT waits for the commit of the batch that holds it, so ``OK true``
always means "on disk". Two stages overlap: while one batch is written by the
writer thread (SQLite allows one writer anyway), the next one is verified by
the worker processes of :mod:`minga.events.parallel`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import connection

from minga.events.event import Event
from minga.events.kinds import is_ephemeral
from minga.events.parallel import Pending, verify_async
from minga.exceptions import MingaError
from minga.store.ingest import Outcome, store_verified
from minga.store.visibility import Visibility

log = logging.getLogger(__name__)
Batch = tuple[list[tuple[Event, "asyncio.Future[Outcome]"]], Pending]


class IngestWriter:
    def __init__(
        self,
        visibility: Visibility,
        batch_max: int = 500,
        on_ephemeral: Callable[[list[Event]], None] | None = None,
    ) -> None:
        self.visibility = visibility
        self.batch_max = batch_max
        self.on_ephemeral = on_ephemeral
        self._queue: asyncio.Queue[tuple[Event, asyncio.Future[Outcome]]] = asyncio.Queue()
        self._verified: asyncio.Queue[Batch] = asyncio.Queue(2)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        self._tasks: list[asyncio.Task[None]] = []
        self._busy = 0

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._verify_stage(), name="ingest-verify"),
            loop.create_task(self._store_stage(), name="ingest-store"),
        ]

    async def stop(self) -> None:
        # Let what is queued be written before the process stops.
        while self._busy or not self._queue.empty() or not self._verified.empty():
            await asyncio.sleep(0.01)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.get_running_loop().run_in_executor(self._executor, _close_connection)
        self._executor.shutdown(wait=True)

    def submit(self, event: Event) -> asyncio.Future[Outcome]:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((event, future))
        return future

    def _write(self, events: list[Event], pending: Pending) -> list[Outcome]:
        valid = pending.result()
        connection.close_if_unusable_or_obsolete()
        return store_verified(events, valid, self.visibility)

    async def _verify_stage(self) -> None:
        while True:
            batch = [await self._queue.get()]
            self._busy += 1
            while len(batch) < self.batch_max and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            events = [e for e, _ in batch]
            await self._verified.put((batch, verify_async(events)))

    async def _store_stage(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch, pending = await self._verified.get()
            events = [e for e, _ in batch]
            try:
                outcomes = await loop.run_in_executor(self._executor, self._write, events, pending)
            except MingaError as exc:
                log.error("store write failed: %s", exc)
                outcomes = [
                    Outcome(e.id, False, "error: the store could not write") for e in events
                ]
            except Exception:
                log.exception("store write failed")
                outcomes = [
                    Outcome(e.id, False, "error: the store could not write") for e in events
                ]
            finally:
                self._busy -= 1
            ephemeral = []
            for (event, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)
                if outcome.ok and is_ephemeral(event.kind):
                    ephemeral.append(event)
            if ephemeral and self.on_ephemeral is not None:
                self.on_ephemeral(ephemeral)


def _close_connection() -> None:
    connection.close()
