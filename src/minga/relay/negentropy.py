"""NIP-77 on the relay: NEG-OPEN / NEG-MSG / NEG-CLOSE sessions of one connection.

What a session reconciles over depends on who asks, as for REQ: the
collective's peer nodes (NIP-42 authenticated with a key of the ``peers``
setting) see every stored row, superseded and deleted versions included, since
they replicate the whole store; members see current events, private ones
included; anyone else current public events. Gift wraps go only to the keys
they are addressed to, except to peers.

Items are read and sorted on the reader pool; each session keeps them until
NEG-CLOSE (or a NEG-ERR, or the connection ends), so later rounds cost only
the negentropy step itself.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from minga.exceptions import InvalidNegentropy, MingaError
from minga.sync.negentropy import Negentropy
from minga.sync.negentropy.store import local_items

if TYPE_CHECKING:
    from minga.relay.connection import Connection

log = logging.getLogger(__name__)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _message(value: Any) -> bytes:
    if not isinstance(value, str):
        raise InvalidNegentropy("a negentropy message is a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise InvalidNegentropy("a negentropy message is a hex string") from None


class Session:
    """One open reconciliation; ``engine`` is None while its items load."""

    __slots__ = ("engine",)

    def __init__(self) -> None:
        self.engine: Negentropy | None = None


class NegentropySessions:
    """The negentropy sessions of one relay connection (NIP-77)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sessions: dict[str, Session] = {}

    def error(self, subid: str, reason: str) -> None:
        self.sessions.pop(subid, None)  # after NEG-ERR the session is closed
        self.conn.send(_dumps(["NEG-ERR", subid, reason]))

    def _subid(self, msg: list[Any], usage: str, length: int) -> str | None:
        """The message's subscription id when it is well formed, else None (and say why)."""
        verb = msg[0]
        limit = self.conn.node.config.max_subid_length
        subid = msg[1] if len(msg) > 1 else None
        if not isinstance(subid, str) or not 0 < len(subid) <= limit:
            self.conn.notice(f"invalid: {verb} takes a subscription id of 1 to {limit} characters")
            return None
        if len(msg) != length:
            self.error(subid, f"invalid: {verb} is {usage}")
            return None
        return subid

    # -- NEG-OPEN --------------------------------------------------------------

    def on_open(self, msg: list[Any]) -> None:
        conn = self.conn
        config = conn.node.config
        subid = self._subid(msg, '["NEG-OPEN", <id>, <filter>, <hex message>]', 4)
        if subid is None:
            return
        self.sessions.pop(subid, None)  # a NEG-OPEN for an open id replaces it
        if not conn.reqs.take():
            self.error(subid, "rate-limited: too many queries, slow down")
            return
        if len(self.sessions) >= config.negentropy_max_sessions:
            self.error(
                subid,
                f"blocked: at most {config.negentropy_max_sessions} open negentropy sessions,"
                " NEG-CLOSE one first",
            )
            return
        if not isinstance(msg[2], dict):
            self.error(subid, "invalid: a filter must be a JSON object")
            return
        try:
            query = _message(msg[3])
        except InvalidNegentropy as exc:
            self.error(subid, exc.nostr_reason())
            return
        session = Session()
        self.sessions[subid] = session
        conn._spawn(self._open(subid, session, msg[2], query))

    async def _open(self, subid: str, session: Session, filter_dict: Any, query: bytes) -> None:
        conn = self.conn
        config = conn.node.config
        policy = conn.node.policy
        authed = set(conn.authed)
        peer = policy.is_peer(authed)
        member = peer or policy.is_member(authed)
        max_items = config.negentropy_max_items

        def load() -> tuple[Negentropy, bytes] | None:
            items = local_items(
                filter_dict,
                everything=peer,
                private=member,
                recipients=authed,
                max_items=max_items,
                limits=conn.filter_limits,
            )
            if len(items) > max_items:
                return None
            engine = Negentropy(items, config.negentropy_frame_size)
            return engine, engine.respond(query)

        try:
            loaded = await conn.node.call(load)
        except MingaError as exc:
            self._fail(subid, session, exc.nostr_reason())
            return
        except Exception:
            log.exception("negentropy: reading the items failed")
            self._fail(subid, session, "error: the store could not answer")
            return
        if self.sessions.get(subid) is not session:
            return  # closed or replaced meanwhile
        if loaded is None:
            self.error(subid, "blocked: too many events, narrow the filter")
            return
        session.engine, answer = loaded
        conn.send(_dumps(["NEG-MSG", subid, answer.hex()]))

    def _fail(self, subid: str, session: Session, reason: str) -> None:
        if self.sessions.get(subid) is session:
            self.error(subid, reason)

    # -- NEG-MSG / NEG-CLOSE -----------------------------------------------------

    def on_msg(self, msg: list[Any]) -> None:
        subid = self._subid(msg, '["NEG-MSG", <id>, <hex message>]', 3)
        if subid is None:
            return
        session = self.sessions.get(subid)
        if session is None:
            self.error(subid, "closed: no open negentropy session with this id, send NEG-OPEN")
            return
        if session.engine is None:
            self.error(subid, "invalid: NEG-MSG before the answer to NEG-OPEN")
            return
        try:
            answer = session.engine.respond(_message(msg[2]))
        except InvalidNegentropy as exc:
            self.error(subid, exc.nostr_reason())
            return
        self.conn.send(_dumps(["NEG-MSG", subid, answer.hex()]))

    def on_close(self, msg: list[Any]) -> None:
        if len(msg) != 2 or not isinstance(msg[1], str):
            self.conn.notice('invalid: NEG-CLOSE takes a subscription id: ["NEG-CLOSE", "<id>"]')
            return
        self.sessions.pop(msg[1], None)
