"""A websocket client to another relay: NIP-01 with NIP-42 AUTH, and NIP-77.

One connection carries everything to a peer at once — the live subscription,
fetches by id, pushed events and negentropy rounds — so a reader task sorts
the incoming messages by their verb and subscription id.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from minga.events.kinds import CLIENT_AUTH
from minga.events.signing import SecretKey, sign_event
from minga.exceptions import SyncError

log = logging.getLogger(__name__)

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
OnEvent = Callable[[str, dict[str, Any]], None]


class RelayClient:
    """An open, authenticated connection to one relay.

    ``on_event(subid, event)`` is called for every EVENT of a live
    subscription opened with :meth:`subscribe` (fetches keep their own).
    """

    def __init__(
        self,
        url: str,
        key: SecretKey | None,
        on_event: OnEvent | None = None,
        *,
        timeout: float = 30.0,
        max_size: int = 4 << 20,
        open_timeout: float | None = None,
        ping_interval: float = 20.0,
        ping_timeout: float | None = None,
    ) -> None:
        self.url = url
        self.open_timeout = timeout if open_timeout is None else open_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = timeout if ping_timeout is None else ping_timeout
        self.key = key
        self.on_event = on_event
        self.timeout = timeout
        self.max_size = max_size
        self.ws: ClientConnection | None = None
        self.bytes_in = 0
        self.bytes_out = 0
        self._ids = itertools.count(1)
        self._oks: dict[str, asyncio.Future[tuple[bool, str]]] = {}
        self._fetches: dict[str, tuple[list[dict[str, Any]], asyncio.Future[str]]] = {}
        self._negs: dict[str, asyncio.Queue[list[Any]]] = {}
        self._live: set[str] = set()
        self._reader: asyncio.Task[None] | None = None
        self._challenge: asyncio.Future[str] | None = None
        self.closed: asyncio.Future[str] | None = None

    # -- opening and closing -------------------------------------------------

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._challenge = loop.create_future()
        self.closed = loop.create_future()
        try:
            self.ws = await asyncio.wait_for(
                connect(
                    self.url,
                    max_size=self.max_size,
                    open_timeout=self.open_timeout,
                    ping_interval=self.ping_interval,
                    ping_timeout=self.ping_timeout,
                    close_timeout=5,
                ),
                self.open_timeout + 1,
            )
        except (OSError, TimeoutError) as exc:
            raise SyncError(f"cannot reach {self.url}: {exc or type(exc).__name__}") from exc
        except Exception as exc:  # websockets' handshake errors
            raise SyncError(f"cannot open {self.url}: {exc}") from exc
        self._reader = loop.create_task(self._read(), name=f"relay-reader {self.url}")
        if self.key is not None:
            await self._authenticate()

    async def _authenticate(self) -> None:
        assert self._challenge is not None
        assert self.key is not None
        try:
            challenge = await asyncio.wait_for(asyncio.shield(self._challenge), self.timeout)
        except TimeoutError as exc:
            raise SyncError(f"{self.url} sent no AUTH challenge") from exc
        event = sign_event(
            self.key, CLIENT_AUTH, "", [["relay", self.url], ["challenge", challenge]]
        )
        ok, message = await self._send_and_wait_ok(["AUTH", event.to_dict()], event.id)
        if not ok:
            raise SyncError(f"{self.url} refused our AUTH: {message}")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)
        self._fail_all("connection closed")

    # -- reading -----------------------------------------------------------------

    async def _read(self) -> None:
        assert self.ws is not None
        reason = "connection closed"
        try:
            async for text in self.ws:
                if isinstance(text, bytes):
                    continue
                self.bytes_in += len(text)
                try:
                    message = json.loads(text)
                except ValueError:
                    log.info("%s sent a message that is not JSON", self.url)
                    continue
                if isinstance(message, list) and message and isinstance(message[0], str):
                    self._dispatch(message)
        except ConnectionClosed as exc:
            reason = f"connection closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
        except Exception as exc:  # never let the reader die silently
            reason = f"reader failed: {exc}"
            log.exception("relay client reader for %s failed", self.url)
        finally:
            self._fail_all(reason)

    def _fail_all(self, reason: str) -> None:
        error = SyncError(f"{self.url}: {reason}")
        if self.closed is not None and not self.closed.done():
            self.closed.set_result(reason)
        for future in list(self._oks.values()):
            if not future.done():
                future.set_exception(error)
        for _events, done in list(self._fetches.values()):
            if not done.done():
                done.set_exception(error)
        for queue in self._negs.values():
            queue.put_nowait(["NEG-ERR", "", f"closed: {reason}"])
        if self._challenge is not None and not self._challenge.done():
            self._challenge.set_exception(error)
        futures: list[asyncio.Future[Any]] = [*self._oks.values()]
        futures += [done for _events, done in self._fetches.values()]
        for future in futures:
            if future.done() and not future.cancelled():
                future.exception()  # mark retrieved
        if self._challenge is not None and self._challenge.done():
            with contextlib.suppress(BaseException):
                self._challenge.exception()

    def _dispatch(self, message: list[Any]) -> None:
        verb = message[0]
        subid = message[1] if len(message) > 1 and isinstance(message[1], str) else ""
        if verb == "EVENT" and len(message) == 3 and isinstance(message[2], dict):
            fetch = self._fetches.get(subid)
            if fetch is not None:
                fetch[0].append(message[2])
            elif subid in self._live and self.on_event is not None:
                self.on_event(subid, message[2])
        elif verb == "EOSE":
            fetch = self._fetches.get(subid)
            if fetch is not None and not fetch[1].done():
                fetch[1].set_result("")
        elif verb == "CLOSED":
            fetch = self._fetches.get(subid)
            reason = str(message[2]) if len(message) > 2 else ""
            if fetch is not None and not fetch[1].done():
                fetch[1].set_exception(SyncError(f"{self.url} closed the fetch: {reason}"))
            elif subid in self._negs:
                self._negs[subid].put_nowait(["NEG-ERR", subid, reason])
            elif subid in self._live:
                self._live.discard(subid)
                log.warning("%s closed subscription %s: %s", self.url, subid, reason)
        elif verb == "OK" and len(message) >= 3:
            future = self._oks.get(subid)
            if future is not None and not future.done():
                future.set_result((bool(message[2]), str(message[3]) if len(message) > 3 else ""))
        elif verb in ("NEG-MSG", "NEG-ERR"):
            queue = self._negs.get(subid)
            if queue is not None:
                queue.put_nowait(message)
        elif verb == "AUTH" and len(message) > 1 and isinstance(message[1], str):
            if self._challenge is not None and not self._challenge.done():
                self._challenge.set_result(message[1])
        elif verb == "NOTICE":
            log.info("%s: %s", self.url, message[1:2])

    # -- sending -------------------------------------------------------------------

    async def send(self, message: list[Any]) -> None:
        await self.send_text(_dumps(message))

    async def send_text(self, text: str) -> None:
        if self.ws is None:
            raise SyncError(f"{self.url}: not connected")
        self.bytes_out += len(text)
        try:
            await self.ws.send(text)
        except ConnectionClosed as exc:
            raise SyncError(f"{self.url}: connection closed while sending") from exc

    async def _send_and_wait_ok(self, message: list[Any], event_id: str) -> tuple[bool, str]:
        future: asyncio.Future[tuple[bool, str]] = asyncio.get_running_loop().create_future()
        self._oks[event_id] = future
        try:
            await self.send(message)
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError as exc:
            raise SyncError(f"{self.url} did not answer OK in {self.timeout:.0f} s") from exc
        finally:
            self._oks.pop(event_id, None)

    async def publish(self, raw: str, event_id: str) -> tuple[bool, str]:
        """Send one event (its JSON text); return the relay's OK verdict."""
        future: asyncio.Future[tuple[bool, str]] = asyncio.get_running_loop().create_future()
        self._oks[event_id] = future
        try:
            await self.send_text(f'["EVENT",{raw}]')
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError as exc:
            raise SyncError(f"{self.url} did not answer OK in {self.timeout:.0f} s") from exc
        finally:
            self._oks.pop(event_id, None)

    async def fetch(self, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Stored events matching ``filters`` (REQ until EOSE, then CLOSE)."""
        subid = f"f{next(self._ids)}"
        done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        events: list[dict[str, Any]] = []
        self._fetches[subid] = (events, done)
        try:
            await self.send(["REQ", subid, *filters])
            await asyncio.wait_for(done, self.timeout * 4)
        except TimeoutError as exc:
            raise SyncError(f"{self.url} did not finish a fetch in time") from exc
        finally:
            self._fetches.pop(subid, None)
            with contextlib.suppress(SyncError):
                await self.send(["CLOSE", subid])
        return events

    async def subscribe(self, subid: str, filters: list[dict[str, Any]]) -> None:
        """Open a live subscription; its events go to ``on_event``."""
        self._live.add(subid)
        await self.send(["REQ", subid, *filters])

    def negentropy_channel(
        self, subid: str
    ) -> tuple[Callable[[list[Any]], Awaitable[None]], Callable[[], Awaitable[list[Any]]]]:
        """``send`` and ``receive`` for :func:`minga.sync.reconcile.reconcile`."""
        queue: asyncio.Queue[list[Any]] = asyncio.Queue()
        self._negs[subid] = queue

        async def receive() -> list[Any]:
            try:
                return await asyncio.wait_for(queue.get(), self.timeout * 2)
            except TimeoutError as exc:
                raise SyncError(f"{self.url} did not answer a negentropy message") from exc

        return self.send, receive

    def end_negentropy(self, subid: str) -> None:
        self._negs.pop(subid, None)
