"""Pulling members' events from public relays into the node.

A reporter whose path to the outlet's node is blocked publishes to any relay
they can reach. The node watches the outlet's ``inbox_relays`` and every
member's write relays (their NIP-65 list): one subscription per relay for the
roster's keys since the relay's cursor (minus some slack), left open for live
events, plus one for gift wraps addressed to the node and outlet keys.

Nothing is taken on the relay's word: every event goes through the node's own
checks (id, signature, the roster with its revocations: ``Policy.write_refusal``)
and the same group-commit writer as the node's relay. A gift wrap is opened
here and only its signed inner event is stored (see :mod:`.giftwrap`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from minga.events.event import Event
from minga.events.kinds import GIFT_WRAP
from minga.events.signing import SecretKey
from minga.events.validate import Limits, check_signature, parse_event
from minga.exceptions import InvalidInput, MingaError
from minga.store.ingest import Outcome
from minga.sync import linkstate
from minga.sync.mailbox import giftwrap
from minga.sync.mailbox.post import auth_event
from minga.sync.models import Role

log = logging.getLogger(__name__)
SLACK_SECONDS = 600  # clocks differ; relays store late arrivals
SAVE_EVERY = 5.0  # seconds between two cursor saves while live
MAX_AUTHORS = 500  # per filter: many relays cap filter lists near 1000
SUBSCRIPTION = "minga-inbox"


class Refusal(Protocol):
    def write_refusal(self, event: Event, authed: Sequence[str] = ()) -> str | None: ...


@dataclass
class Watch:
    """One relay being watched."""

    url: str
    authors: tuple[str, ...]
    task: asyncio.Task[None] | None = None
    cursor: int = 0
    stored: int = 0
    saved_at: float = field(default_factory=time.monotonic)


class Inbox:
    def __init__(
        self,
        *,
        policy: Refusal,
        submit: Callable[[Event], Awaitable[Outcome]],
        call: Callable[..., Awaitable[Any]],
        limits: Limits,
        keys: Sequence[SecretKey],
        forwarders: frozenset[str],
        plan: Callable[[], dict[str, tuple[str, ...]]],
        retry_max_seconds: float,
    ) -> None:
        self.policy = policy
        self.submit = submit
        self.call = call
        self.limits = limits
        self.keys = {k.pubkey: k for k in keys}
        self.forwarders = forwarders
        self.plan = plan
        self.retry_max = max(1.0, retry_max_seconds)
        self.watches: dict[str, Watch] = {}
        self._replan = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- life ---------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._supervise(), name="inbox")

    async def stop(self) -> None:
        tasks = [w.task for w in self.watches.values() if w.task is not None]
        if self._task is not None:
            tasks.append(self._task)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for watch in self.watches.values():
            await self.call(_save, watch.url, watch.cursor, 0, False)

    def replan(self) -> None:
        """The roster or a member's relay list changed (call on the event loop)."""
        self._replan.set()

    async def _supervise(self) -> None:
        while True:
            try:
                wanted = await self.call(self.plan)
            except Exception:
                log.exception("inbox: could not work out which relays to watch")
                wanted = {w.url: w.authors for w in self.watches.values()}
            for url in list(self.watches):
                if self.watches[url].authors != wanted.get(url):
                    await self._drop(url)
            for url, authors in wanted.items():
                if url not in self.watches:
                    watch = Watch(url, authors)
                    self.watches[url] = watch
                    watch.task = asyncio.get_running_loop().create_task(
                        self._follow(watch), name=f"inbox {url}"
                    )
            self._replan.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._replan.wait(), timeout=60)

    async def _drop(self, url: str) -> None:
        watch = self.watches.pop(url)
        if watch.task is not None:
            watch.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch.task
        await self.call(_save, url, watch.cursor, 0, False)

    # -- one relay -----------------------------------------------------------
    async def _follow(self, watch: Watch) -> None:
        failures = 0
        while True:
            watch.cursor = max(watch.cursor, await self.call(_cursor, watch.url))
            try:
                async with connect(
                    watch.url,
                    open_timeout=15,
                    max_size=self.limits.max_json_bytes * 4,
                    ping_interval=30,
                    close_timeout=2,
                ) as ws:
                    await ws.send(json.dumps(["REQ", SUBSCRIPTION, *self._filters(watch)]))
                    await self.call(_contact, watch.url, True)
                    failures = 0
                    await self._read(ws, watch)
                    raise ConnectionError("the relay closed the connection")
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, WebSocketException, InvalidInput) as exc:
                failures += 1
                message = f"{type(exc).__name__}: {exc}"[:500]
                log.info("inbox %s: %s", watch.url, message)
                await self.call(_failed, watch.url, message)
            await self.call(_save, watch.url, watch.cursor, watch.stored, False)
            watch.stored = 0
            await asyncio.sleep(min(self.retry_max, 2.0 ** min(failures, 12)))

    def _filters(self, watch: Watch) -> list[dict[str, Any]]:
        since = max(0, watch.cursor - SLACK_SECONDS) if watch.cursor else None
        filters: list[dict[str, Any]] = []
        for i in range(0, len(watch.authors), MAX_AUTHORS):
            f: dict[str, Any] = {"authors": list(watch.authors[i : i + MAX_AUTHORS])}
            if since is not None:
                f["since"] = since
            filters.append(f)
        # Wraps carry a created_at up to two days in the past (NIP-59).
        wraps: dict[str, Any] = {"kinds": [GIFT_WRAP], "#p": sorted(self.keys)}
        if since is not None:
            wraps["since"] = max(0, since - giftwrap.TWO_DAYS)
        filters.append(wraps)
        return filters

    async def _read(self, ws: ClientConnection, watch: Watch) -> None:
        while True:
            try:
                raw = await asyncio.wait_for(ws.recv(), SAVE_EVERY)
            except TimeoutError:
                # A quiet moment: save what came since the last save (the desk
                # sees it, and a crash does not make the relay send it again).
                if watch.stored:
                    await self._checkpoint(watch, force=True)
                continue
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(message, list) or not message:
                continue
            verb = message[0]
            if verb == "EVENT" and len(message) >= 3 and message[1] == SUBSCRIPTION:
                await self._take(message[2], watch)
            elif verb == "EOSE":
                await self._checkpoint(watch, force=True)
            elif verb == "AUTH" and len(message) > 1:
                for key in self.keys.values():
                    auth = auth_event(key, watch.url, str(message[1]))
                    await ws.send(json.dumps(["AUTH", auth.to_dict()]))
            elif verb == "CLOSED" and len(message) > 1 and message[1] == SUBSCRIPTION:
                reason = str(message[2]) if len(message) > 2 else ""
                if reason.startswith("auth-required:"):
                    # Answered our AUTH by now, or never will: ask again once.
                    await ws.send(json.dumps(["REQ", SUBSCRIPTION, *self._filters(watch)]))
                    continue
                raise ConnectionError(f"the relay closed the subscription: {reason}"[:500])

    async def _take(self, obj: object, watch: Watch) -> None:
        """One event from the relay: checked like any other, then stored."""
        try:
            event = parse_event(obj, self.limits, verify=False)  # the writer verifies
            wrapped = event.kind == GIFT_WRAP
            if wrapped:
                event = self._unwrap(event)
            refusal = self.policy.write_refusal(event)
            if refusal is not None:
                log.info("inbox %s: refused %s: %s", watch.url, event.id[:12], refusal)
                return
            outcome = await self.submit(event)
        except MingaError as exc:
            event_id = obj.get("id") if isinstance(obj, dict) else None
            log.info("inbox %s: refused %s: %s", watch.url, str(event_id)[:12], exc.message)
            return
        if not outcome.ok:
            log.info("inbox %s: refused %s: %s", watch.url, event.id[:12], outcome.message)
            return
        if outcome.stored:
            watch.stored += 1
            if not wrapped:  # a wrap's created_at is made up (NIP-59)
                watch.cursor = max(watch.cursor, event.created_at)
        await self._checkpoint(watch)

    def _unwrap(self, wrap: Event) -> Event:
        check_signature(wrap)
        recipient = next((p for p in wrap.tag_values("p") if p in self.keys), None)
        if recipient is None:
            raise InvalidInput("a gift wrap for none of this node's keys")
        return giftwrap.unwrap(wrap, self.keys[recipient], self.forwarders, self.limits).event

    async def _checkpoint(self, watch: Watch, force: bool = False) -> None:
        if force or time.monotonic() - watch.saved_at > SAVE_EVERY:
            await self.call(_save, watch.url, watch.cursor, watch.stored, True)
            watch.stored = 0
            watch.saved_at = time.monotonic()


# -- the relay's Link row (called on a reader thread) ----------------------------


INBOX = str(Role.INBOX)  # the link's role, as stored


def _cursor(url: str) -> int:
    return linkstate.cursor(INBOX, url)


def _contact(url: str, connected: bool) -> None:
    if connected:
        linkstate.connected(INBOX, url)
    else:
        linkstate.disconnected(INBOX, url)


def _failed(url: str, message: str) -> None:
    linkstate.failed(INBOX, url, message)
    linkstate.disconnected(INBOX, url)


def _save(url: str, cursor: int, stored: int, connected: bool) -> None:
    if stored:
        linkstate.received(INBOX, url, stored, cursor)
    else:
        linkstate.advance(INBOX, url, cursor)
    _contact(url, connected)
