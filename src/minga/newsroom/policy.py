"""Who may write to and read from this node.

Writes: by default only the outlet key, the node key and keys on the outlet's
roster, and the node keys of the collective's other nodes (setting ``peers``:
they replicate, so they read everything and pass on whatever they hold, each
event still checked against the roster); a revoked key's events made at or after its revocation are refused
even when ``open_writes`` lets anyone else in. Reads of private events: only
connections authenticated (NIP-42 or BUD-11) as one of those keys.
"""

from __future__ import annotations

from collections.abc import Iterable

from minga.events.event import Event
from minga.events.kinds import GIFT_WRAP, NOSTR_CONNECT
from minga.newsroom.roster import RosterCache, is_roster_event


class Policy:
    def __init__(
        self,
        outlet: str | None,
        node: str | None = None,
        *,
        open_writes: bool = False,
        roster: RosterCache | None = None,
        peers: Iterable[str] = (),
    ) -> None:
        self.outlet = outlet
        self.node = node
        self.peers = frozenset(peers)
        self.open_writes = open_writes
        self.roster = roster if roster is not None or outlet is None else RosterCache(outlet)

    def refresh(self) -> None:
        """Re-read the roster from the store (blocking: call from a thread)."""
        if self.roster is not None:
            self.roster.refresh()

    def write_refusal(self, event: Event, authed: Iterable[str] = ()) -> str | None:
        """None when ``event`` may be stored; else an OK message (``blocked: …``).

        ``authed``: the keys the sender authenticated as (NIP-42). Gift wraps
        (NIP-59) are signed by throw-away keys, so they are taken from any
        authenticated member instead of by their signature.
        """
        if event.pubkey in (self.outlet, self.node):
            return None
        if event.kind == NOSTR_CONNECT:
            # Remote signing (NIP-46) passes through between a person's signer and
            # the node's client key: ephemeral, encrypted, never stored.
            return None
        if event.kind == GIFT_WRAP and not self.open_writes:
            if self.is_member(authed):
                return None
            return "auth-required: gift wraps are taken from authenticated members only"
        if self.roster is None:
            if self.open_writes:
                return None
            return "restricted: this node has no outlet yet (run `minga init`)"
        refusal = self.roster.current().refusal(event.pubkey, event.created_at)
        if refusal is None or (self.open_writes and "revoked" not in refusal):
            return None
        return refusal

    def role(self, pubkey: str) -> str | None:
        if pubkey == self.node:
            return "node"
        if pubkey in self.peers:
            return "peer"
        if self.roster is None:
            return "outlet" if pubkey == self.outlet else None
        return self.roster.current().role(pubkey)

    def is_peer(self, pubkeys: Iterable[str]) -> bool:
        """True when any of ``pubkeys`` is another node of the collective."""
        return any(pk in self.peers for pk in pubkeys)

    def is_member(self, pubkeys: Iterable[str]) -> bool:
        """True when any of ``pubkeys`` (a connection's authenticated keys) is a member."""
        return any(self.role(pk) is not None for pk in pubkeys)

    def on_stored(self, events: list[Event], private: frozenset[str] = frozenset()) -> None:
        outlet = self.outlet
        if (
            self.roster is not None
            and outlet is not None
            and any(is_roster_event(e, outlet) for e in events)
        ):
            # Called in the thread that committed, right after the commit.
            self.roster.refresh()
