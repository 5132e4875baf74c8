"""The relay over a real websocket: NIP-01 messages, limits, NIP-42, NIP-70,
the roster's write policy and private reads."""

from __future__ import annotations

import base64
import json
import os
import socket
import time

import httpx
import pytest

from minga.events import SecretKey, sign_event
from minga.store.models import StoredEvent


def stored(kind: int = 1) -> int:
    return StoredEvent.objects.filter(kind=kind).count()


@pytest.fixture
def reporter(newsroom):
    return newsroom.member("reporter")


def test_publish_query_and_duplicate(node, reporter):
    relay = node.ws()
    event = sign_event(reporter, 1, "desde la plaza", [["t", "paro"]])
    assert relay.publish(event) == ["OK", event.id, True, ""]
    assert relay.publish(event) == ["OK", event.id, True, "duplicate: already have this event"]
    events, end = relay.req("s1", {"#t": ["paro"]})
    assert end == ["EOSE", "s1"]
    assert [e["id"] for e in events] == [event.id]
    assert events[0] == event.to_dict()
    relay.close()


def test_live_subscription_receives_new_events(node, reporter):
    reader, writer = node.ws(), node.ws()
    events, end = reader.req("live", {"kinds": [1], "authors": [reporter.pubkey]})
    assert events == []
    assert end[0] == "EOSE"
    event = sign_event(reporter, 1, "en vivo")
    writer.publish(event)
    message = reader.until("EVENT")
    assert message == ["EVENT", "live", event.to_dict()]
    # Closed subscriptions stop receiving.
    reader.send("CLOSE", "live")
    writer.publish(sign_event(reporter, 1, "después del cierre"))
    reader.send("REQ", "probe", {"ids": ["00" * 32]})
    assert reader.until("EOSE") == ["EOSE", "probe"]


def test_ephemeral_events_reach_subscribers_without_being_stored(node, reporter):
    reader, writer = node.ws(), node.ws()
    reader.req("eph", {"kinds": [20001]})
    event = sign_event(reporter, 20001, "ping")
    assert writer.publish(event)[2] is True
    assert reader.until("EVENT")[2]["id"] == event.id
    assert stored(20001) == 0


@pytest.mark.parametrize(
    ("text", "notice"),
    [
        ("{not json", "invalid: message is not valid JSON"),
        ('{"a": 1}', "invalid: a message is a JSON array"),
        ('["PING"]', "invalid: unknown message type 'PING'"),
        ("[]", "invalid: a message is a JSON array"),
        ('["CLOSE"]', "invalid: CLOSE takes a subscription id"),
        ('["REQ", 5, {}]', "invalid: a subscription id is a string"),
        ('["REQ", "' + "x" * 65 + '", {}]', "invalid: a subscription id is a string"),
    ],
)
def test_malformed_messages_get_a_notice_and_the_connection_lives(node, text, notice):
    relay = node.ws()
    relay.send_raw(text)
    message = relay.until("NOTICE")
    assert message[1].startswith(notice)
    _events, end = relay.req("after", {"limit": 1})
    assert end == ["EOSE", "after"]


def test_invalid_events_get_ok_false_with_a_reason(node, reporter):
    relay = node.ws()
    good = sign_event(reporter, 1, "bien").to_dict()
    wrong_id = dict(good, content="cambiado")
    bad_sig = dict(good, sig=sign_event(reporter, 1, "otro").sig)
    future = sign_event(reporter, 1, "futuro", created_at=int(time.time()) + 3600).to_dict()
    relay.send("EVENT", wrong_id)
    assert relay.until("OK") == [
        "OK",
        good["id"],
        False,
        "invalid: event id does not match the hash of its content",
    ]
    relay.send("EVENT", bad_sig)
    ok = relay.until("OK")
    assert ok[:3] == ["OK", good["id"], False]
    assert ok[3].startswith("invalid: signature")
    relay.send("EVENT", future)
    assert relay.until("OK")[3] == "invalid: created_at is too far in the future"
    relay.send("EVENT", {"id": 5})
    assert relay.until("OK") == [
        "OK",
        "",
        False,
        "invalid: missing field(s): content, created_at, kind, pubkey, sig, tags",
    ]
    relay.send("EVENT")
    assert relay.until("OK")[3].startswith("invalid: EVENT takes one event")
    assert stored(1) == 0


def test_oversized_messages_are_refused(node, reporter, settings):
    relay = node.ws(max_size=None)
    limit = settings.MINGA.max_message_bytes
    huge = sign_event(reporter, 1, "x" * (limit + 10))
    relay.send("EVENT", huge.to_dict())
    assert relay.until("NOTICE")[1] == f"invalid: message is larger than {limit} bytes"
    assert relay.req("still", {"limit": 1})[1] == ["EOSE", "still"]


def test_bad_filters_get_closed(node):
    relay = node.ws()
    _, end = relay.req("bad", {"search": "paro"})
    assert end == ["CLOSED", "bad", "invalid: unknown filter field 'search'"]
    _, end = relay.req("bad2", {"authors": ["nothex"]})
    assert end[2].startswith("invalid:")
    relay.send("REQ", "nofilter")
    assert relay.until("CLOSED") == ["CLOSED", "nofilter", "invalid: REQ needs at least one filter"]
    relay.send("REQ", "many", *([{}] * 17))
    assert relay.until("CLOSED")[2] == "invalid: at most 16 filters in one REQ"


def test_subscription_flood_is_limited(node, settings):
    relay = node.ws()
    limit = settings.MINGA.max_subscriptions
    for n in range(limit):
        relay.send("REQ", f"s{n}", {"ids": ["00" * 32]})
    for _ in range(limit):
        relay.until("EOSE")
    _, end = relay.req("one-too-many", {"limit": 1})
    assert end[0] == "CLOSED"
    assert end[2].startswith(f"rate-limited: at most {limit} open subscriptions")
    # Replacing an existing subscription is always allowed.
    assert relay.req("s0", {"limit": 1})[1] == ["EOSE", "s0"]


def test_event_flood_is_rate_limited(node, reporter, settings):
    relay = node.ws()
    burst = settings.MINGA.event_burst
    events = [sign_event(reporter, 1, str(n)) for n in range(burst + 50)]
    for event in events:
        relay.send("EVENT", event.to_dict())
    answers = [relay.until("OK") for _ in events]
    refused = [a for a in answers if not a[2]]
    assert refused, "a flood above the burst must be refused in part"
    assert all(a[3].startswith("rate-limited:") for a in refused)
    accepted = {a[1] for a in answers if a[2]}
    assert stored(1) == len(accepted)


def test_writes_only_from_the_roster(node, newsroom):
    relay = node.ws()
    stranger = SecretKey.generate()
    event = sign_event(stranger, 1, "no soy del medio")
    assert relay.publish(event) == [
        "OK",
        event.id,
        False,
        "blocked: this key is not on the outlet's roster",
    ]
    outlet_note = sign_event(newsroom.outlet_key, 1, "comunicado")
    assert relay.publish(outlet_note)[2] is True


def test_revoked_key_is_refused_after_the_revocation(node, newsroom):
    from minga.newsroom import membership

    seized = newsroom.member("reporter")
    relay = node.ws()
    before = sign_event(seized, 1, "antes", created_at=int(time.time()) - 600)
    revoked_at = int(time.time()) - 300
    membership.revoke(seized.pubkey, revoked_at, "teléfono incautado")
    after = sign_event(seized, 1, "después")
    assert relay.publish(after) == [
        "OK",
        after.id,
        False,
        "blocked: this key was revoked by the outlet",
    ]
    assert relay.publish(before)[2] is True


def test_auth_and_private_reads(node, newsroom, reporter):
    relay = node.ws()
    draft = sign_event(reporter, 30024, "borrador", [["d", "b1"]])
    assert relay.publish(draft)[2] is True
    _, end = relay.req("drafts", {"kinds": [30024]})
    assert end == ["CLOSED", "drafts", "auth-required: these kinds are for authenticated members"]
    events, _ = relay.req("mixed", {"kinds": [1, 30024]})
    assert events == []  # not authenticated: private events are left out
    ok = relay.auth(reporter, node.relay_url)
    assert ok[2] is True
    events, end = relay.req("drafts", {"kinds": [30024]})
    assert end[0] == "EOSE"
    assert [e["id"] for e in events] == [draft.id]


def test_auth_of_a_non_member_is_restricted(node):
    relay = node.ws()
    assert relay.auth(SecretKey.generate(), node.relay_url)[2] is True
    _, end = relay.req("drafts", {"kinds": [30024]})
    assert end[2].startswith("restricted:")


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (
            lambda c, url: [["relay", url], ["challenge", "otro"]],
            "invalid: AUTH challenge does not match",
        ),
        (
            lambda c, url: [["relay", "wss://otro.example/"], ["challenge", c]],
            "invalid: AUTH relay tag names another relay",
        ),
        (lambda c, url: [["challenge", c]], "invalid: AUTH event has no relay tag"),
    ],
)
def test_bad_auth_is_refused(node, reporter, tags, message):
    relay = node.ws()
    event = sign_event(reporter, 22242, "", tags(relay.challenge, node.relay_url))
    relay.send("AUTH", event.to_dict())
    assert relay.until("OK") == ["OK", event.id, False, message]


def test_stale_auth_is_refused(node, reporter):
    relay = node.ws()
    event = sign_event(
        reporter,
        22242,
        "",
        [["relay", node.relay_url], ["challenge", relay.challenge]],
        created_at=int(time.time()) - 3600,
    )
    relay.send("AUTH", event.to_dict())
    assert relay.until("OK")[3] == "invalid: AUTH event created_at is too far from now"


def test_auth_events_cannot_be_published(node, reporter):
    relay = node.ws()
    event = sign_event(reporter, 22242, "", [["challenge", relay.challenge]])
    assert relay.publish(event)[3] == "invalid: kind 22242 is sent with AUTH, not EVENT"


def test_protected_events_need_their_author_authenticated(node, reporter, newsroom):
    relay = node.ws()
    protected = sign_event(reporter, 1, "solo por su autora", [["-"]])
    assert relay.publish(protected) == [
        "OK",
        protected.id,
        False,
        "auth-required: this event may only be published by its author",
    ]
    other = newsroom.member("editor")
    relay.auth(other, node.relay_url)
    assert relay.publish(protected)[2] is False
    relay.auth(reporter, node.relay_url)
    assert relay.publish(protected)[2] is True


def test_gift_wraps_come_from_members_and_reach_only_their_recipient(node, newsroom, reporter):
    recipient = newsroom.member("editor")
    # Gift wraps are signed by throw-away keys: the relay takes them from an
    # authenticated member, whatever key signed them.
    wrap = sign_event(SecretKey.generate(), 1059, "cifrado", [["p", recipient.pubkey]])
    sender = node.ws()
    assert (
        sender.publish(wrap)[3]
        == "auth-required: gift wraps are taken from authenticated members only"
    )
    sender.auth(reporter, node.relay_url)
    assert sender.publish(wrap)[2] is True
    other = node.ws()
    other.auth(reporter, node.relay_url)
    events, _ = other.req("w", {"kinds": [1059]})
    assert events == []
    mine = node.ws()
    mine.auth(recipient, node.relay_url)
    events, _ = mine.req("w", {"kinds": [1059]})
    assert [e["id"] for e in events] == [wrap.id]


def test_private_events_are_not_broadcast_to_strangers(node, reporter):
    stranger, member, writer = node.ws(), node.ws(), node.ws()
    member.auth(reporter, node.relay_url)
    stranger.req("all", {"limit": 0})
    member.req("all", {"limit": 0})
    draft = sign_event(reporter, 30024, "borrador", [["d", "x"]])
    public = sign_event(reporter, 1, "público")
    writer.publish(draft)
    writer.publish(public)
    assert member.until("EVENT")[2]["id"] == draft.id
    assert member.until("EVENT")[2]["id"] == public.id
    assert stranger.until("EVENT")[2]["id"] == public.id


def test_nip11_document(node, newsroom):
    response = httpx.get(f"{node.base_url}/relay", headers={"Accept": "application/nostr+json"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    doc = response.json()
    assert {1, 9, 11, 42, 70} <= set(doc["supported_nips"])
    assert doc["pubkey"] == newsroom.outlet_key.pubkey
    assert doc["self"] == newsroom.node_pubkey
    assert doc["limitation"]["restricted_writes"] is True
    plain = httpx.get(f"{node.base_url}/relay")
    assert "Nostr relay" in plain.text


def test_many_clients_publish_at_once(node, newsroom):
    import threading

    reporters = [newsroom.member() for _ in range(4)]
    results = []

    def file(key):
        relay = node.ws()
        for n in range(30):
            results.append(relay.publish(sign_event(key, 1, f"{key.pubkey[:6]} {n}")))
        relay.close()

    threads = [threading.Thread(target=file, args=(k,)) for k in reporters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 120
    assert all(r[2] for r in results)
    assert stored(1) == 120


class TestSlowReader:
    @pytest.fixture
    def node_settings(self):
        return {"max_unread_messages": 20}

    @staticmethod
    def stalled_subscriber(relay_url: str) -> socket.socket:
        """A websocket client with a tiny receive buffer that never reads."""
        host, port = relay_url.split("//")[1].split("/")[0].split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET /relay HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer:  # the upgrade, before the first frame
            answer += sock.recv(1)
        payload = json.dumps(["REQ", "all", {"kinds": [1], "limit": 0}]).encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
        return sock

    def test_a_client_that_never_reads_is_disconnected(self, node, reporter):
        slow = self.stalled_subscriber(node.relay_url)
        writer = node.ws()
        time.sleep(0.5)
        for n in range(50):
            writer.publish(sign_event(reporter, 1, f"{n} " + "x" * 250_000))
        # The relay gave up on the stalled client: what it still holds ends
        # with the notice, then a close frame (code 1008, policy violation).
        slow.settimeout(20)
        received = b""
        close_frame = b"\x88\x02\x03\xf0"
        while close_frame not in received:
            chunk = slow.recv(1 << 20)
            assert chunk, "the relay hung up without a close frame"
            received += chunk
        slow.close()
        notice = b'["NOTICE","error: too many unread messages"]'
        assert received.index(notice) < received.index(close_frame)
        assert received.count(b'["EVENT","all"') < 50
        # The node and the other client are unharmed.
        assert writer.publish(sign_event(reporter, 1, "sigue"))[2] is True
