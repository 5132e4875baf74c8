"""One relay websocket: the NIP-01 message loop with NIP-42 AUTH and limits.

Outgoing messages go through a bounded queue drained by one sender task, so a
slow client can never stall the node: when its queue overflows it is told why
and disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from minga.events.event import Event
from minga.events.filters import Filter, FilterLimits, parse_filter
from minga.events.kinds import CLIENT_AUTH, GIFT_WRAP
from minga.events.validate import check_id, check_shape, parse_event
from minga.exceptions import InvalidEvent, MingaError
from minga.relay.auth import check_auth_event
from minga.relay.negentropy import NegentropySessions
from minga.relay.ratelimit import TokenBucket
from minga.store.query import Row, query

if TYPE_CHECKING:
    from minga.node.runtime import Node

log = logging.getLogger(__name__)

INFLIGHT_MAX = 2000  # EVENTs of one connection waiting for their commit
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class Connection:
    def __init__(self, websocket: WebSocket, node: Node) -> None:
        self.ws = websocket
        self.node = node
        config = node.config
        self.subs: dict[str, list[Filter]] = {}
        self.authed: set[str] = set()
        self.challenge = secrets.token_urlsafe(24)
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue(config.max_unread_messages)
        self.events = TokenBucket(config.event_rate, config.event_burst)
        self.reqs = TokenBucket(config.req_rate, config.req_burst)
        self.inflight = asyncio.Semaphore(INFLIGHT_MAX)
        self.filter_limits = FilterLimits(
            max_values=config.max_filter_values,
            max_limit=config.max_limit,
            max_tag_value_bytes=config.max_index_value_bytes,
        )
        self.tasks: set[asyncio.Task[None]] = set()
        self.negentropy = NegentropySessions(self)
        self.closing = False
        host = websocket.headers.get("host", "")
        self.accepted_urls = [node.config.relay_url]
        if host:
            self.accepted_urls.append(f"ws://{host}/relay")

    # -- sending -------------------------------------------------------------

    def send(self, message: str) -> None:
        if self.closing:
            return
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            # The client does not read: drop what is queued, tell it why, hang up.
            log.warning("relay: closing a connection that does not read its messages")
            self.closing = True
            while not self.outbox.empty():
                self.outbox.get_nowait()
            self.outbox.put_nowait(_dumps(["NOTICE", "error: too many unread messages"]))
            self.outbox.put_nowait(None)

    def notice(self, text: str) -> None:
        self.send(_dumps(["NOTICE", text]))

    def ok(self, event_id: str, accepted: bool, message: str) -> None:
        self.send(_dumps(["OK", event_id, accepted, message]))

    def closed(self, subid: str, message: str) -> None:
        self.send(_dumps(["CLOSED", subid, message]))

    async def _sender(self) -> None:
        while True:
            message = await self.outbox.get()
            if message is None:
                await self.ws.close(code=1008)
                return
            await self.ws.send_text(message)

    # -- the loop --------------------------------------------------------------

    async def serve(self) -> None:
        await self.ws.accept()
        hub = self.node.hub
        if not hub.add(self):
            await self.ws.send_text(_dumps(["NOTICE", "error: the relay is full, try later"]))
            await self.ws.close(code=1013)
            return
        sender = asyncio.get_running_loop().create_task(self._sender())
        self.send(_dumps(["AUTH", self.challenge]))
        try:
            while not sender.done():
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    self.notice("invalid: binary messages are not part of NIP-01")
                    continue
                self.handle(text)
        except WebSocketDisconnect:
            pass
        finally:
            hub.remove(self)
            for task in list(self.tasks):
                task.cancel()
            sender.cancel()
            if self.ws.client_state is WebSocketState.CONNECTED and not self.closing:
                with contextlib.suppress(RuntimeError):
                    await self.ws.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def handle(self, text: str) -> None:
        limit = self.node.config.max_message_bytes
        if len(text) > limit or (len(text) * 4 > limit and len(text.encode()) > limit):
            self.notice(f"invalid: message is larger than {limit} bytes")
            return
        try:
            msg = json.loads(text)
        except (ValueError, RecursionError):
            self.notice("invalid: message is not valid JSON")
            return
        if not isinstance(msg, list) or not msg or not isinstance(msg[0], str):
            self.notice(
                'invalid: a message is a JSON array starting with its type, e.g. ["REQ", …]'
            )
            return
        verb = msg[0]
        if verb == "EVENT":
            self.on_event(msg)
        elif verb == "REQ":
            self.on_req(msg)
        elif verb == "CLOSE":
            self.on_close(msg)
        elif verb == "AUTH":
            self.on_auth(msg)
        elif verb == "NEG-OPEN":
            self.negentropy.on_open(msg)
        elif verb == "NEG-MSG":
            self.negentropy.on_msg(msg)
        elif verb == "NEG-CLOSE":
            self.negentropy.on_close(msg)
        else:
            self.notice(f"invalid: unknown message type {verb[:20]!r}")

    # -- EVENT ---------------------------------------------------------------

    def on_event(self, msg: list[Any]) -> None:
        obj = msg[1] if len(msg) == 2 else None
        raw_id = obj.get("id") if isinstance(obj, dict) else None
        event_id = raw_id[:64] if isinstance(raw_id, str) else ""
        if len(msg) != 2:
            self.ok(event_id, False, 'invalid: EVENT takes one event: ["EVENT", {…}]')
            return
        if not self.events.take():
            self.ok(event_id, False, "rate-limited: too many events, slow down")
            return
        try:
            event = check_id(check_shape(obj, self.node.limits))
        except MingaError as exc:
            self.ok(event_id, False, exc.nostr_reason())
            return
        if event.kind == CLIENT_AUTH:
            self.ok(event.id, False, "invalid: kind 22242 is sent with AUTH, not EVENT")
            return
        if event.is_protected and event.pubkey not in self.authed:
            self.ok(
                event.id, False, "auth-required: this event may only be published by its author"
            )
            return
        refusal = self.node.policy.write_refusal(event, self.authed)
        if refusal is not None:
            self.ok(event.id, False, refusal)
            return
        self._spawn(self._commit(event))

    async def _commit(self, event: Event) -> None:
        async with self.inflight:
            outcome = await self.node.writer.submit(event)
        self.ok(outcome.event_id, outcome.ok, outcome.message)

    # -- REQ / CLOSE -----------------------------------------------------------

    def on_req(self, msg: list[Any]) -> None:
        config = self.node.config
        subid = msg[1] if len(msg) > 1 else None
        if not isinstance(subid, str) or not 0 < len(subid) <= config.max_subid_length:
            self.notice(
                f"invalid: a subscription id is a string of 1 to {config.max_subid_length} characters"
            )
            return
        if len(msg) < 3:
            self.closed(subid, "invalid: REQ needs at least one filter")
            return
        if not self.reqs.take():
            self.closed(subid, "rate-limited: too many subscriptions requested, slow down")
            return
        if len(msg) - 2 > config.max_filters:
            self.closed(subid, f"invalid: at most {config.max_filters} filters in one REQ")
            return
        try:
            filters = [parse_filter(f, self.filter_limits) for f in msg[2:]]
        except MingaError as exc:
            self.closed(subid, exc.nostr_reason())
            return
        if subid not in self.subs and len(self.subs) >= config.max_subscriptions:
            self.closed(
                subid,
                f"rate-limited: at most {config.max_subscriptions} open subscriptions,"
                " CLOSE one first",
            )
            return
        member = self.node.policy.is_member(self.authed)
        private = self.node.visibility.private_kinds
        if not member and any(f.kinds and f.kinds <= private for f in filters):
            if self.authed:
                self.closed(subid, "restricted: only members of the outlet read these kinds")
            else:
                self.closed(subid, "auth-required: these kinds are for authenticated members")
            return
        self.subs[subid] = filters
        self._spawn(self._answer(subid, filters, member))

    async def _answer(self, subid: str, filters: list[Filter], member: bool) -> None:
        try:
            # A peer node fetching by id what a reconciliation said it lacks
            # gets superseded and deleted versions too (NIP-77, minga.sync).
            peer = self.node.policy.is_peer(self.authed)
            rows: list[Row] = await self.node.call(
                lambda: query(filters, private=member, everything=peer)
            )
        except MingaError as exc:
            self.subs.pop(subid, None)
            self.closed(subid, exc.nostr_reason())
            return
        except Exception:
            log.exception("relay query failed")
            self.subs.pop(subid, None)
            self.closed(subid, "error: the store could not answer")
            return
        if self.subs.get(subid) is not filters:
            return  # closed or replaced meanwhile
        prefix = f'["EVENT",{_dumps(subid)},'
        for row in rows:
            if row.kind == GIFT_WRAP and not self._may_unwrap(row.event()):
                continue
            self.send(prefix + row.raw + "]")
        self.send(_dumps(["EOSE", subid]))

    def on_close(self, msg: list[Any]) -> None:
        if len(msg) != 2 or not isinstance(msg[1], str):
            self.notice('invalid: CLOSE takes a subscription id: ["CLOSE", "<id>"]')
            return
        self.subs.pop(msg[1], None)

    # -- AUTH ------------------------------------------------------------------

    def on_auth(self, msg: list[Any]) -> None:
        obj = msg[1] if len(msg) == 2 else None
        raw_id = obj.get("id") if isinstance(obj, dict) else None
        event_id = raw_id[:64] if isinstance(raw_id, str) else ""
        if not self.events.take():  # each AUTH costs a signature check, like an EVENT
            self.ok(event_id, False, "rate-limited: too many messages, slow down")
            return
        try:
            if not isinstance(obj, dict):
                raise InvalidEvent('AUTH takes one signed event: ["AUTH", {…}]')
            event = parse_event(obj, self.node.limits)
            check_auth_event(
                event,
                self.challenge,
                self.accepted_urls,
                window=self.node.config.auth_window_seconds,
            )
        except MingaError as exc:
            self.ok(event_id, False, exc.nostr_reason())
            return
        self.authed.add(event.pubkey)
        self.ok(event.id, True, "")

    # -- live ------------------------------------------------------------------

    def _may_unwrap(self, event: Event) -> bool:
        """Gift wraps (NIP-59) go only to the recipient named in their p tag —
        and to the collective's other nodes, which replicate them unopened."""
        return any(pk in self.authed for pk in event.tag_values("p")) or (
            self.node.policy.is_peer(self.authed)
        )

    def deliver(self, items: list[tuple[Event, str, bool]]) -> None:
        """Send newly stored events to the subscriptions they match."""
        if not self.subs:
            return
        member: bool | None = None
        sync = self.node.sync
        for event, raw, private in items:
            if sync is not None and self.authed and not sync.forward(event.id, self.authed):
                continue  # it came from this peer, or by catch-up: not live to peers
            if private:
                if member is None:
                    member = self.node.policy.is_member(self.authed)
                if not member:
                    continue
                if event.kind == GIFT_WRAP and not self._may_unwrap(event):
                    continue
            for subid, filters in self.subs.items():
                if any(f.matches(event) for f in filters):
                    self.send(f'["EVENT",{_dumps(subid)},{raw}]')
