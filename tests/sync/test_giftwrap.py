"""NIP-59 gift wraps (minga's signed inner event) and NIP-65 relay lists, alone.

Interop both ways with nostr-sdk's NIP-44 and NIP-59: its client opens what
minga wraps, minga opens what a client wraps the same way, and refuses the
standard unsigned rumor with a clear reason.
"""

from __future__ import annotations

import asyncio
import json

import nostr_sdk as sdk
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minga.events import SecretKey, sign_event
from minga.events.validate import parse_event
from minga.exceptions import InvalidEvent, InvalidInput
from minga.sync.mailbox import giftwrap, relaylist
from minga.sync.mailbox.giftwrap import UnsignedRumor
from tests.fixtures import run


def test_wrap_hides_everything_but_the_recipient_and_opens_to_the_signed_event():
    author, recipient = SecretKey.generate(), SecretKey.generate()
    inner = sign_event(author, 14, "check-in: a salvo en Puno", [["p", recipient.pubkey]])
    wrap = giftwrap.wrap(inner, author, recipient.pubkey)
    assert wrap.kind == 1059
    assert wrap.tags == [["p", recipient.pubkey]]
    assert wrap.pubkey not in (author.pubkey, recipient.pubkey)
    assert "Puno" not in wrap.to_json()
    assert author.pubkey not in wrap.to_json()
    assert wrap.created_at <= inner.created_at + 1
    parse_event(wrap.to_dict())  # a valid, signed event any relay takes
    opened = giftwrap.unwrap(wrap, recipient)
    assert opened.event == inner
    assert opened.sealed_by == author.pubkey
    with pytest.raises(InvalidInput, match="MAC"):
        giftwrap.unwrap(wrap, SecretKey.generate())  # not for this key


def test_a_node_may_forward_a_members_event_a_stranger_may_not():
    member, node, stranger, recipient = (SecretKey.generate() for _ in range(4))
    inner = sign_event(member, 30024, "borrador", [["d", "b"]])
    forwarded = giftwrap.wrap(inner, node, recipient.pubkey)
    assert giftwrap.unwrap(forwarded, recipient, {node.pubkey}).event == inner
    with pytest.raises(InvalidEvent, match="neither by the author"):
        giftwrap.unwrap(giftwrap.wrap(inner, stranger, recipient.pubkey), recipient, {node.pubkey})


def test_an_altered_inner_event_is_refused():
    author, recipient = SecretKey.generate(), SecretKey.generate()
    inner = sign_event(author, 1, "original")
    forged = dict(inner.to_dict(), content="cambiado")
    wrap = _wrap_obj(author, recipient.pubkey, json.dumps(forged))
    with pytest.raises(InvalidEvent, match="id does not match"):
        giftwrap.unwrap(wrap, recipient)


def _wrap_obj(author: SecretKey, recipient: str, inner_json: str):
    from minga.keys import nip44

    seal = sign_event(
        author,
        13,
        nip44.encrypt(inner_json, nip44.conversation_key(author.secret_bytes(), recipient)),
    )
    one_time = SecretKey.generate()
    conv = nip44.conversation_key(one_time.secret_bytes(), recipient)
    return sign_event(one_time, 1059, nip44.encrypt(seal.to_json(), conv), [["p", recipient]])


def test_nostr_sdk_opens_minga_wraps_and_its_unsigned_rumors_are_refused():
    recipient = sdk.Keys.generate()
    author = SecretKey.generate()
    inner = sign_event(author, 14, "hola desde minga")
    wrap = giftwrap.wrap(inner, author, recipient.public_key().to_hex())

    async def both():
        sdk.uniffi_set_event_loop(asyncio.get_running_loop())
        gift = await sdk.UnwrappedGift.from_gift_wrap_async(
            recipient, sdk.Event.from_json(wrap.to_json())
        )
        rumor = sdk.EventBuilder(sdk.Kind(14), "sin firma").finalize_unsigned(
            sdk.Keys.generate().public_key()
        )
        theirs = await sdk.nip59_make_gift_wrap_async(
            sdk.Keys.generate(), sdk.PublicKey.parse(mine.pubkey), rumor
        )
        return gift, theirs

    mine = SecretKey.generate()
    gift, theirs = run(both())
    assert gift.sender().to_hex() == author.pubkey
    assert json.loads(gift.rumor().as_json())["content"] == "hola desde minga"
    with pytest.raises(UnsignedRumor):
        giftwrap.unwrap(parse_event(json.loads(theirs.as_json())), mine)


# -- NIP-65 relay lists --------------------------------------------------------------


def test_relay_list_markers_and_validation():
    key = SecretKey.generate()
    event = sign_event(
        key,
        10002,
        "",
        [
            ["r", "wss://Relay.Example.com/"],
            ["r", "wss://write.example", "write"],
            ["r", "ws://read.example:7777/nostr", "read"],
            ["r", "https://not-a-relay.example"],
            ["r", "wss://user:pass@secret.example"],
            ["r", "wss://odd.example", "sometimes"],
            ["p", "wss://ignored.example"],
        ],
    )
    parsed = relaylist.parse(event)
    assert parsed.write == ("wss://relay.example.com", "wss://write.example")
    assert parsed.read == ("wss://relay.example.com", "ws://read.example:7777/nostr")
    assert len(parsed.skipped) == 3


def test_relay_list_is_capped():
    key = SecretKey.generate()
    tags = [["r", f"wss://r{i}.example"] for i in range(100)]
    parsed = relaylist.parse(sign_event(key, 10002, "", tags))
    assert len(parsed.write) == relaylist.MAX_RELAYS_PER_LIST
    assert len(parsed.skipped) == 100 - relaylist.MAX_RELAYS_PER_LIST


def test_the_outlets_list_marks_outbox_write_and_inbox_read():
    key = SecretKey.generate()
    event = relaylist.build(
        key, ["wss://a.example", "wss://b.example"], ["wss://b.example", "wss://c.example"]
    )
    assert event.tags == [
        ["r", "wss://a.example", "write"],
        ["r", "wss://b.example"],
        ["r", "wss://c.example", "read"],
    ]
    parsed = relaylist.parse(event)
    assert parsed.write == ("wss://a.example", "wss://b.example")
    assert parsed.read == ("wss://b.example", "wss://c.example")


_tag = st.lists(st.text(max_size=40), min_size=0, max_size=4)
_url = st.builds(
    lambda scheme, host, rest: f"{scheme}://{host}{rest}",
    st.sampled_from(["ws", "wss", "http", "WSS", ""]),
    st.text(max_size=30),
    st.text(max_size=30),
)


@given(st.lists(st.one_of(_tag, st.builds(lambda u, m: ["r", u, *m], _url, _tag)), max_size=40))
def test_any_relay_list_parses_to_bounded_normal_ws_urls(tags):
    tags = [t for t in tags if t]
    event = sign_event(SecretKey.generate(), 10002, "", tags)
    parsed = relaylist.parse(event)
    urls = set(parsed.read) | set(parsed.write)
    assert len(urls) <= relaylist.MAX_RELAYS_PER_LIST
    for url in urls:
        assert url.startswith(("ws://", "wss://"))
        assert relaylist.normalize(url) == url
        assert len(url) <= relaylist.MAX_URL_CHARS
