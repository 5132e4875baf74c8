"""The roster: an outlet-signed list of who may publish, in which role.

The roster is a NIP-51 follow set (kind 30000) with ``d = "minga-roster"``,
signed by the outlet key. Members are ``["p", <pubkey>, "", <role>]`` tags;
a revoked key is ``["revoked", <pubkey>, <unix time>, <reason>]``: events that
key signs with ``created_at`` at or after that time are refused. The roster is
private (only authenticated members read it): it names the reporters.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from minga.events.event import Event
from minga.events.kinds import FOLLOW_SET, ROSTER_D_TAG
from minga.events.signing import SecretKey, sign_event
from minga.exceptions import InvalidInput

ROLES = ("admin", "editor", "reporter", "contributor")


@dataclass(frozen=True)
class Revocation:
    pubkey: str
    revoked_at: int
    reason: str = ""


@dataclass(frozen=True)
class Roster:
    outlet: str
    members: dict[str, str] = field(default_factory=dict)  # pubkey -> role
    revoked: dict[str, Revocation] = field(default_factory=dict)
    event_id: str | None = None
    created_at: int = 0

    def role(self, pubkey: str) -> str | None:
        """The role of ``pubkey`` now: "outlet", one of ROLES, or None."""
        if pubkey == self.outlet:
            return "outlet"
        return self.members.get(pubkey)  # revoked keys are never members

    def is_member(self, pubkey: str) -> bool:
        return self.role(pubkey) is not None

    def refusal(self, pubkey: str, created_at: int) -> str | None:
        """Why an event by ``pubkey`` made at ``created_at`` may not be published."""
        revocation = self.revoked.get(pubkey)
        if revocation is not None and created_at >= revocation.revoked_at:
            return "blocked: this key was revoked by the outlet"
        if pubkey == self.outlet or pubkey in self.members or revocation is not None:
            return None
        return "blocked: this key is not on the outlet's roster"

    def with_member(self, pubkey: str, role: str) -> Roster:
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
        members = dict(self.members)
        members[pubkey] = role
        revoked = {k: v for k, v in self.revoked.items() if k != pubkey}
        return Roster(self.outlet, members, revoked)

    def with_revocation(self, pubkey: str, revoked_at: int, reason: str = "") -> Roster:
        members = {k: v for k, v in self.members.items() if k != pubkey}
        revoked = dict(self.revoked)
        revoked[pubkey] = Revocation(pubkey, revoked_at, reason)
        return Roster(self.outlet, members, revoked)

    def sign(self, outlet_key: SecretKey, created_at: int | None = None) -> Event:
        if outlet_key.pubkey != self.outlet:
            raise InvalidInput("the roster is signed by the outlet key only")
        tags: list[list[str]] = [["d", ROSTER_D_TAG]]
        tags += [["p", pk, "", role] for pk, role in sorted(self.members.items())]
        tags += [
            ["revoked", r.pubkey, str(r.revoked_at), r.reason]
            for r in sorted(self.revoked.values(), key=lambda r: r.pubkey)
        ]
        created = int(time.time()) if created_at is None else created_at
        # A roster must replace the one before it even within the same second.
        created = max(created, self.created_at + 1) if self.event_id else created
        return sign_event(outlet_key, FOLLOW_SET, "", tags, created)


def is_roster_event(event: Event, outlet: str) -> bool:
    return event.kind == FOLLOW_SET and event.pubkey == outlet and event.d_tag == ROSTER_D_TAG


def parse(event: Event, outlet: str) -> Roster:
    """Read a roster event (already verified). Malformed entries are skipped."""
    if not is_roster_event(event, outlet):
        raise InvalidInput("not a roster event of this outlet")
    members: dict[str, str] = {}
    revoked: dict[str, Revocation] = {}
    for tag in event.tags:
        if tag[0] == "p" and len(tag) >= 4 and tag[3] in ROLES and len(tag[1]) == 64:
            members[tag[1]] = tag[3]
        elif tag[0] == "revoked" and len(tag) >= 3 and len(tag[1]) == 64 and tag[2].isdigit():
            revoked[tag[1]] = Revocation(tag[1], int(tag[2]), tag[3] if len(tag) > 3 else "")
    for pubkey in revoked:
        members.pop(pubkey, None)
    return Roster(outlet, members, revoked, event.id, event.created_at)


class RosterCache:
    """The current roster, held in memory so that policy checks never wait for I/O.

    :meth:`current` only reads memory (safe on the event loop). :meth:`refresh`
    reads the store; the node calls it at start, every few seconds (for
    rosters stored by other processes), and right after a new roster event is
    committed in this process.
    """

    def __init__(self, outlet: str) -> None:
        self.outlet = outlet
        self._lock = threading.Lock()
        self._roster = Roster(outlet)

    def current(self) -> Roster:
        return self._roster

    def refresh(self) -> Roster:
        with self._lock:
            self._roster = load_current(self.outlet)
        return self._roster


def load_current(outlet: str) -> Roster:
    from minga.store.query import latest

    event = latest(f"{FOLLOW_SET}:{outlet}:{ROSTER_D_TAG}")
    return parse(event, outlet) if event is not None else Roster(outlet)
