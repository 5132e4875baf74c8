"""NIP-77 on a running node: minga's reconcile client over a real websocket,
who sees what (anonymous, member, peer node), limits and bad messages, a peer
fetching what it lacks by id, and nostr-sdk's negentropy sync as the client."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from minga.events import Event, SecretKey, sign_event
from minga.exceptions import SyncError
from minga.store.ingest import ingest
from minga.sync.negentropy import Negentropy
from minga.sync.negentropy.store import local_items
from minga.sync.reconcile import Reconciliation, reconcile
from tests.fixtures import Relay

PEER = SecretKey.generate()
SDK_SCRIPT = Path(__file__).with_name("nostr_sdk_sync.py")


@pytest.fixture
def node_settings() -> dict[str, Any]:
    # The peer's URL is never dialled here: the setting only makes its key trusted.
    return {"peers": f"ws://127.0.0.1:1/relay {PEER.pubkey}"}


def store(*events: Event) -> None:
    assert all(o.ok for o in ingest(list(events)))


def sync(
    relay: Relay, flt: dict[str, Any], items: list[tuple[int, bytes]], **kw: Any
) -> Reconciliation:
    """minga's client over the test's websocket (blocking calls in a coroutine)."""

    async def send(message: list[Any]) -> None:
        relay.send(*message)

    async def receive() -> list[Any]:
        while True:
            message = relay.recv()
            if message[0] in ("NEG-MSG", "NEG-ERR"):
                return message

    return asyncio.run(reconcile(send, receive, "neg1", flt, items, **kw))


def items_of(*events: Event) -> list[tuple[int, bytes]]:
    return [(e.created_at, bytes.fromhex(e.id)) for e in events]


class World:
    """Events of every visibility, stored in the node."""

    def __init__(self, newsroom: Any) -> None:
        now = int(time.time())
        self.reporter = newsroom.member("reporter")
        self.reader = newsroom.member("reporter")  # authenticates as a member
        stranger = SecretKey.generate()
        r = self.reporter
        self.notes = [sign_event(r, 1, f"nota {i}", created_at=now - 100 + i) for i in range(5)]
        self.gone = sign_event(r, 1, "borrada", created_at=now - 50)
        self.old_profile = sign_event(r, 0, '{"name":"a"}', created_at=now - 40)
        self.profile = sign_event(r, 0, '{"name":"b"}', created_at=now - 30)
        self.draft = sign_event(r, 30024, "borrador", [["d", "b1"]], created_at=now - 20)
        self.wrap_to_reader = sign_event(
            stranger, 1059, "sobre", [["p", self.reader.pubkey]], created_at=now - 10
        )
        self.wrap_to_other = sign_event(
            stranger, 1059, "sobre", [["p", SecretKey.generate().pubkey]], created_at=now - 9
        )
        store(
            *self.notes,
            self.gone,
            self.old_profile,
            self.profile,
            self.draft,
            self.wrap_to_reader,
            self.wrap_to_other,
        )
        self.deletion = sign_event(r, 5, "", [["e", self.gone.id]], created_at=now - 5)
        store(self.deletion)
        self.public = {e.id for e in [*self.notes, self.profile, self.deletion]}
        self.all = self.public | {
            e.id
            for e in [
                self.gone,
                self.old_profile,
                self.draft,
                self.wrap_to_reader,
                self.wrap_to_other,
            ]
        }


@pytest.fixture
def world(newsroom: Any) -> World:
    return World(newsroom)


def test_nip11_advertises_77(node):
    doc = httpx.get(f"{node.base_url}/relay", headers={"Accept": "application/nostr+json"}).json()
    assert 77 in doc["supported_nips"]


def test_anonymous_reconciles_public_current_events(node, world):
    relay = node.ws()
    # The client holds two of the notes and one event the node lacks.
    extra = sign_event(SecretKey.generate(), 1, "sólo aquí")
    result = sync(relay, {}, items_of(world.notes[0], world.notes[1], extra))
    assert result.have == [extra.id]
    need = set(result.need)
    assert need & world.all == world.public - {world.notes[0].id, world.notes[1].id}
    assert result.rounds == 1
    assert result.bytes_sent > 0
    assert result.bytes_received > 0


def test_a_member_also_sees_private_events_and_its_own_gift_wraps(node, world):
    relay = node.ws()
    assert relay.auth(world.reader, node.relay_url)[2] is True
    need = set(sync(relay, {}, []).need)
    assert need & world.all == world.public | {world.draft.id, world.wrap_to_reader.id}


def test_a_peer_node_sees_every_stored_version(node, world):
    relay = node.ws()
    assert relay.auth(PEER, node.relay_url)[2] is True
    need = set(sync(relay, {}, []).need)
    assert need & world.all == world.all


def test_a_peer_fetches_by_id_superseded_and_deleted_versions(node, world):
    wanted = {"ids": [world.old_profile.id, world.gone.id, world.wrap_to_other.id]}
    anonymous = node.ws()
    events, _ = anonymous.req("a", wanted)
    assert {e["id"] for e in events} == {world.old_profile.id}  # by id, not deleted ones
    peer = node.ws()
    peer.auth(PEER, node.relay_url)
    events, end = peer.req("p", wanted)
    assert end[0] == "EOSE"
    assert {e["id"] for e in events} == set(wanted["ids"])
    # A member is not a peer: deleted rows stay hidden.
    member = node.ws()
    member.auth(world.reader, node.relay_url)
    events, _ = member.req("m", wanted)
    assert world.gone.id not in {e["id"] for e in events}


def test_filter_narrows_the_set_and_reconciliation_then_fetch_completes(node, world):
    relay = node.ws()
    flt = {"kinds": [1], "authors": [world.reporter.pubkey]}
    result = sync(relay, flt, items_of(*world.notes[:2]))
    assert set(result.need) == {e.id for e in world.notes[2:]}
    events, _ = relay.req("fetch", {"ids": result.need})
    assert {e["id"] for e in events} == set(result.need)


def test_many_differences_take_several_rounds_within_the_frame(node, newsroom):
    reporter = newsroom.member("reporter")
    now = int(time.time())
    events = [sign_event(reporter, 1, str(i), created_at=now - 5000 + i) for i in range(600)]
    store(*events)
    relay = node.ws()
    flt = {"authors": [reporter.pubkey]}
    mine = items_of(*events[:100]) + items_of(
        *[sign_event(reporter, 1, f"x{i}", created_at=now - i) for i in range(150)]
    )
    result = sync(relay, flt, mine, frame_size_limit=4096)
    assert set(result.need) == {e.id for e in events[100:]}
    assert len(result.have) == 150
    assert result.rounds > 1


def test_local_items_matches_the_relay(node, world):
    items = local_items({"kinds": [1]}, everything=False, private=False)
    ids = {i.hex() for _, i in items}
    assert ids & world.all == {e.id for e in world.notes}
    everything = {i.hex() for _, i in local_items({}, everything=True, private=True)}
    assert world.all <= everything
    assert len(local_items({}, everything=True, private=True, max_items=2)) == 3


# -- limits and bad messages ---------------------------------------------------------


def neg_open(relay: Relay, subid: str, flt: Any, message: str) -> list[Any]:
    relay.send("NEG-OPEN", subid, flt, message)
    return relay.until_any(("NEG-MSG", "NEG-ERR"))  # type: ignore[attr-defined]


def _until_any(self: Relay, verbs: tuple[str, ...]) -> list[Any]:
    while True:
        message = self.recv()
        if message[0] in verbs:
            return message


Relay.until_any = _until_any  # type: ignore[attr-defined]
EMPTY = Negentropy([]).initiate().hex()


class TestLimits:
    @pytest.fixture
    def node_settings(self) -> dict[str, Any]:
        return {
            "peers": f"ws://127.0.0.1:1/relay {PEER.pubkey}",
            "negentropy_max_items": 5,
            "negentropy_max_sessions": 2,
        }

    def test_too_many_items_is_blocked(self, node, world):
        relay = node.ws()
        answer = neg_open(relay, "big", {}, EMPTY)
        assert answer == ["NEG-ERR", "big", "blocked: too many events, narrow the filter"]
        with pytest.raises(SyncError, match="blocked"):
            sync(relay, {}, [])
        # A narrower filter is served.
        answer = neg_open(relay, "small", {"ids": [world.notes[0].id]}, EMPTY)
        assert answer[0] == "NEG-MSG"

    def test_sessions_per_connection(self, node, world):
        relay = node.ws()
        flt = {"kinds": [0]}
        assert neg_open(relay, "s1", flt, EMPTY)[0] == "NEG-MSG"
        assert neg_open(relay, "s2", flt, EMPTY)[0] == "NEG-MSG"
        answer = neg_open(relay, "s3", flt, EMPTY)
        assert answer[0] == "NEG-ERR"
        assert answer[2].startswith("blocked: at most 2")
        # Re-opening an open id replaces it; closing one makes room.
        assert neg_open(relay, "s2", flt, EMPTY)[0] == "NEG-MSG"
        relay.send("NEG-CLOSE", "s1")
        assert neg_open(relay, "s3", flt, EMPTY)[0] == "NEG-MSG"


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (["NEG-OPEN", "n", {}, "zz"], "invalid: a negentropy message is a hex string"),
        (["NEG-OPEN", "n", {}, 61], "invalid: a negentropy message is a hex string"),
        (["NEG-OPEN", "n", {}, "6100"], "invalid: the message ends too early"),
        (["NEG-OPEN", "n", {}, "00"], "invalid: not a negentropy message"),
        (["NEG-OPEN", "n", [], EMPTY], "invalid: a filter must be a JSON object"),
        (["NEG-OPEN", "n", {"bogus": 1}, EMPTY], "invalid: unknown filter field"),
        (["NEG-OPEN", "n", {}, 32, EMPTY], "invalid: NEG-OPEN is"),
        (["NEG-OPEN", "n", {}], "invalid: NEG-OPEN is"),
        (["NEG-MSG", "n", EMPTY], "closed: no open negentropy session"),
        (["NEG-MSG", "n"], "invalid: NEG-MSG is"),
    ],
)
def test_bad_messages_get_neg_err_and_change_nothing(node, world, message, reason):
    # (The node may store events of its own meanwhile: watch the test's author.)
    def rows() -> list[tuple[int, bytes]]:
        return local_items({"authors": [world.reporter.pubkey]}, everything=True, private=True)

    before = rows()
    relay = node.ws()
    relay.send(*message)
    answer = relay.until_any(("NEG-ERR", "NEG-MSG", "NOTICE"))
    assert answer[0] == "NEG-ERR"
    assert answer[1] == "n"
    assert answer[2].startswith(reason)
    assert rows() == before
    # The connection still works, and so does negentropy on it.
    assert sync(relay, {"kinds": [0]}, []).need


@pytest.mark.parametrize(
    "message",
    [["NEG-OPEN"], ["NEG-OPEN", 5, {}, EMPTY], ["NEG-MSG", "", EMPTY], ["NEG-CLOSE", 1]],
)
def test_messages_without_an_id_get_a_notice(node, message):
    relay = node.ws()
    relay.send(*message)
    assert relay.until_any(("NEG-ERR", "NOTICE"))[0] == "NOTICE"


def test_a_garbled_neg_msg_ends_the_session(node, world):
    relay = node.ws()
    assert neg_open(relay, "g", {}, EMPTY)[0] == "NEG-MSG"
    relay.send("NEG-MSG", "g", "61" + "ff" * 12)
    answer = relay.until_any(("NEG-ERR", "NEG-MSG"))
    assert answer[0] == "NEG-ERR"
    assert answer[2].startswith("invalid:")
    relay.send("NEG-MSG", "g", EMPTY)
    assert relay.until_any(("NEG-ERR", "NEG-MSG"))[2].startswith("closed:")


def test_an_unknown_protocol_version_is_answered_with_ours(node):
    relay = node.ws()
    assert neg_open(relay, "v", {}, "62") == ["NEG-MSG", "v", "61"]


# -- nostr-sdk (rust-nostr) as the client ---------------------------------------------


def test_nostr_sdk_syncs_down_exactly_what_it_lacks(node, newsroom, tmp_path):
    reporter = newsroom.member("reporter")
    now = int(time.time())
    events = [sign_event(reporter, 1, f"n{i}", created_at=now - 300 + i) for i in range(120)]
    store(*events)
    held = events[::3]  # nostr-sdk already has a third of them
    (tmp_path / "events.json").write_text(json.dumps([e.to_dict() for e in held]))
    flt = {"kinds": [1], "authors": [reporter.pubkey]}
    (tmp_path / "filter.json").write_text(json.dumps(flt))
    done = subprocess.run(
        [
            sys.executable,
            str(SDK_SCRIPT),
            node.relay_url,
            str(tmp_path / "events.json"),
            str(tmp_path / "filter.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-3000:]
    seen = json.loads(lines[-1])
    assert seen["failed"] == {}
    lacked = {e.id for e in events} - {e.id for e in held}
    assert set(seen["remote"]) == lacked  # what reconciliation found missing
    assert seen["local"] == []
    assert set(seen["stored"]) == {e.id for e in held}
    fetched, _ = node.ws().req("f", {"ids": seen["remote"]})
    assert {e["id"] for e in fetched} | set(seen["stored"]) == {e.id for e in events}
