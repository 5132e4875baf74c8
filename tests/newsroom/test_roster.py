from __future__ import annotations

import time

import pytest

from minga.events import SecretKey, sign_event
from minga.exceptions import InvalidInput
from minga.newsroom.policy import Policy
from minga.newsroom.roster import Roster, RosterCache, parse

OUTLET = SecretKey.generate()


def test_roster_signs_and_parses():
    a, b = SecretKey.generate(), SecretKey.generate()
    roster = Roster(OUTLET.pubkey).with_member(a.pubkey, "reporter").with_member(b.pubkey, "editor")
    roster = roster.with_revocation(b.pubkey, 1000, "incautado")
    event = roster.sign(OUTLET)
    assert event.kind == 30000
    assert event.d_tag == "minga-roster"
    back = parse(event, OUTLET.pubkey)
    assert back.members == {a.pubkey: "reporter"}
    assert back.revoked[b.pubkey].revoked_at == 1000
    assert back.revoked[b.pubkey].reason == "incautado"


def test_only_the_outlet_signs_the_roster():
    with pytest.raises(InvalidInput):
        Roster(OUTLET.pubkey).sign(SecretKey.generate())
    stranger = SecretKey.generate()
    forged = sign_event(
        stranger, 30000, "", [["d", "minga-roster"], ["p", stranger.pubkey, "", "admin"]]
    )
    with pytest.raises(InvalidInput):
        parse(forged, OUTLET.pubkey)


def test_roles_and_refusals():
    a = SecretKey.generate()
    roster = Roster(OUTLET.pubkey).with_member(a.pubkey, "reporter")
    assert roster.role(a.pubkey) == "reporter"
    assert roster.role(OUTLET.pubkey) == "outlet"
    assert roster.refusal(a.pubkey, int(time.time())) is None
    assert (
        roster.refusal(SecretKey.generate().pubkey, 0)
        == "blocked: this key is not on the outlet's roster"
    )
    with pytest.raises(InvalidInput):
        roster.with_member(a.pubkey, "jefe")


def test_revocation_blocks_from_its_time_on():
    a = SecretKey.generate()
    roster = Roster(OUTLET.pubkey).with_member(a.pubkey, "reporter").with_revocation(a.pubkey, 1000)
    assert roster.role(a.pubkey) is None
    assert roster.refusal(a.pubkey, 999) is None
    assert roster.refusal(a.pubkey, 1000) == "blocked: this key was revoked by the outlet"
    # Re-adding a member lifts the revocation.
    assert roster.with_member(a.pubkey, "reporter").refusal(a.pubkey, 2000) is None


class FixedRoster(RosterCache):
    def __init__(self, roster: Roster) -> None:
        self.outlet = roster.outlet
        self._roster = roster


def test_policy_open_writes_still_blocks_revoked_keys():
    revoked = SecretKey.generate()
    roster = Roster(OUTLET.pubkey).with_revocation(revoked.pubkey, 0)
    policy = Policy(OUTLET.pubkey, open_writes=True, roster=FixedRoster(roster))
    assert policy.write_refusal(sign_event(SecretKey.generate(), 1, "")) is None
    assert (
        policy.write_refusal(sign_event(revoked, 1, ""))
        == "blocked: this key was revoked by the outlet"
    )


def test_policy_without_an_outlet_refuses():
    policy = Policy(None)
    assert policy.write_refusal(sign_event(SecretKey.generate(), 1, "")).startswith("restricted:")
