"""Public relays as mailboxes, against a real relay nobody here wrote (nostr-relay).

The node posts approved public events to its outbox relays (with retries and
per-relay status), never a private one in clear, and pulls members' events and
gift wraps from its inbox relays and its members' write relays.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import nostr_sdk as sdk
import pytest

from minga.events import SecretKey, sign_event
from minga.events.validate import parse_event
from minga.keys.nip19 import npub_encode
from minga.newsroom import membership, people, workflow
from minga.publish.models import JobState
from minga.store.ingest import ingest
from minga.store.query import get
from minga.sync.mailbox import giftwrap
from minga.sync.models import Link, RelayPost, Role
from tests.fixtures import free_port, run
from tests.sdk import event as sdk_event
from tests.sync.public_relay import PublicRelay

PASSWORD = "una clave larga de prueba"
SECRET = "Encuentro en la casa de Julia a las 19:00"


def wait_for(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out; posts: {_posts()}"
        time.sleep(0.2)


def _posts() -> list[tuple[str, str, str, int, str]]:
    rows = RelayPost.objects.values_list("relay", "event_id", "state", "attempts", "last_error")
    return [(r, e[:8], s, a, err[:60]) for r, e, s, a, err in rows]


@pytest.fixture
def relays(tmp_path) -> Iterator[list[PublicRelay]]:
    started = [PublicRelay(tmp_path / "relay-a"), PublicRelay(tmp_path / "relay-b")]
    try:
        for relay in started:
            relay.start()
        yield started
    finally:
        for relay in started:
            relay.stop()


@pytest.fixture
def peer_key() -> SecretKey:
    """The node key of another node of the collective (its relay is down)."""
    return SecretKey.generate()


@pytest.fixture
def node_settings(relays, peer_key):
    return {
        "outbox_relays": ",".join(r.url for r in relays),
        "inbox_relays": relays[0].url,
        "peers": f"ws://127.0.0.1:{free_port()}/relay {npub_encode(peer_key.pubkey)}",
        "retry_max_seconds": 1,
    }


def file_dispatch(reporter: SecretKey, d: str, title: str, body: str):
    event = sign_event(reporter, 30023, body, [["d", d], ["title", title]])
    assert ingest([event])[0].ok
    return event


def test_approved_events_reach_every_outbox_relay_private_ones_only_wrapped(
    node, newsroom, relays, peer_key
):
    editor = people.create_person("editora", PASSWORD, "Editora", "editor")
    reporter = newsroom.member("reporter")
    unpublished = file_dispatch(reporter, "no-aun", "Todavía no", "Sin aprobar")
    published = file_dispatch(reporter, "paro", "Paro nacional", "Sin transporte en Lima.")
    draft = sign_event(reporter, 30024, SECRET, [["d", "borrador"]])
    assert ingest([draft])[0].ok
    # Filed, the dispatch is private: it goes to the peer wrapped, never in clear...
    wait_for(
        lambda: RelayPost.objects.filter(event_id=published.id, state=JobState.DONE).count() == 2
    )
    assert published.id not in {e["id"] for e in relays[0].events()}
    # ...and once published it goes out again, in clear.
    publication = workflow.publish(published.address, editor.user)

    expected = {publication.repost.id, published.id}
    for relay in relays:
        wait_for(lambda r=relay: expected <= {e["id"] for e in r.events()})
    for relay in relays:
        seen = relay.events()
        kinds = {e["kind"] for e in seen}
        assert 10002 in kinds  # the outlet's relay list (NIP-65)
        assert unpublished.id not in {e["id"] for e in seen}
        assert not kinds & {4, 13, 14, 15, 30024, 30000}
        # The draft went to the peer, gift-wrapped: only wraps addressed to it.
        wraps = wait_for(lambda r=relay: r.events({"kinds": [1059]}))
        assert all(w["tags"] == [["p", peer_key.pubkey]] for w in wraps)
        opened = [giftwrap.unwrap(_event(w), peer_key, {newsroom.node_pubkey}) for w in wraps]
        assert draft.id in {o.event.id for o in opened}
        assert SECRET not in relay.raw_text()
        assert "Todavía no" not in relay.raw_text()

    outlet_list = next(e for e in relays[0].events({"kinds": [10002]}))
    assert outlet_list["pubkey"] == newsroom.outlet_key.pubkey
    assert sorted(outlet_list["tags"]) == sorted(
        [["r", relays[0].url], ["r", relays[1].url, "write"]]
    )
    for relay in relays:
        link = wait_for(lambda r=relay: _link(Role.OUTBOX, r.url, events_out__gt=0))
        assert link.last_contact is not None
    assert not RelayPost.objects.exclude(state__in=[JobState.DONE, JobState.SUPERSEDED]).exists()


def _event(obj):
    return parse_event(obj)


def _link(role: str, url: str, **conditions) -> Link | None:
    return Link.objects.filter(role=role, url=url, **conditions).first()


# -- a relay that is down, or refuses ------------------------------------------------


class TestRetries:
    @pytest.fixture
    def relays(self, tmp_path) -> Iterator[list[PublicRelay]]:
        down = PublicRelay(tmp_path / "down")  # not started yet
        # Refuses reposts only: nostr-relay slows each connection down after each
        # refusal (2 s, 4 s, 8 s…), so one kind refused keeps the test short.
        picky = PublicRelay(tmp_path / "picky", kinds=[0, 5, 1063, 10002, 15128, 30023])
        picky.start()
        try:
            yield [down, picky]
        finally:
            down.stop()
            picky.stop()

    @pytest.fixture
    def node_settings(self, relays):
        return {"outbox_relays": ",".join(r.url for r in relays), "retry_max_seconds": 1}

    def test_a_relay_down_gets_the_event_when_it_is_back_a_refusal_is_failed(
        self, node, newsroom, relays
    ):
        down, picky = relays
        editor = people.create_person("editora", PASSWORD, "Editora", "editor")
        reporter = newsroom.member("reporter")
        item = file_dispatch(reporter, "corte", "Corte de luz", "Sin luz en Arequipa.")
        repost = workflow.publish(item.address, editor.user).repost

        # Down: the post waits with the error; the relay's link says so.
        post = wait_for(
            lambda: RelayPost.objects.filter(
                relay=down.url, event_id=repost.id, attempts__gte=2, state=JobState.PENDING
            ).first()
        )
        assert post.last_error
        link = wait_for(lambda: _link(Role.OUTBOX, down.url, last_error_at__isnull=False))
        assert "Connect" in link.last_error or "refused" in link.last_error.lower()
        assert link.last_contact is None

        # The picky relay refuses kinds it does not take: failed for good, with its
        # reason (nostr-relay answers refusals slower and slower: give it time).
        refused = wait_for(
            lambda: RelayPost.objects.filter(
                relay=picky.url, event_id=repost.id, state=JobState.FAILED
            ).first(),
            timeout=180,
        )
        assert refused.last_error.startswith("invalid:")
        # The link's status is written right after the post's own.
        link = wait_for(lambda: _link(Role.OUTBOX, picky.url, last_error__contains="not allowed"))
        assert link.last_error_at is not None
        assert 10002 in {e["kind"] for e in picky.events()}  # what it takes, it got

        # Back up: the retries deliver (the backoff is capped by retry_max_seconds).
        down.start()
        wait_for(lambda: {repost.id, item.id} <= {e["id"] for e in down.events()})
        wait_for(
            lambda: RelayPost.objects.get(relay=down.url, event_id=repost.id).state == JobState.DONE
        )
        link = wait_for(lambda: _link(Role.OUTBOX, down.url, last_contact__isnull=False))
        assert link.events_out >= 2


# -- inbound: members' events and gift wraps ---------------------------------------------


class TestInbox:
    @pytest.fixture
    def relays(self, tmp_path) -> Iterator[list[PublicRelay]]:
        inbox = PublicRelay(tmp_path / "inbox", check_signatures=False)  # a careless relay
        elsewhere = PublicRelay(tmp_path / "elsewhere")  # only in a member's NIP-65 list
        for relay in (inbox, elsewhere):
            relay.start()
        try:
            yield [inbox, elsewhere]
        finally:
            inbox.stop()
            elsewhere.stop()

    @pytest.fixture
    def node_settings(self, relays):
        return {"inbox_relays": relays[0].url, "retry_max_seconds": 1}

    def test_members_events_are_pulled_forged_and_strangers_are_not(self, node, newsroom, relays):
        inbox, elsewhere = relays
        keys = sdk.Keys.generate()
        reporter = keys.public_key().to_hex()
        membership.add(reporter, "reporter")
        wait_for(lambda: node_policy().role(reporter) == "reporter")

        # A nostr-sdk client that can reach only the public relay.
        note = _sdk_send(inbox.url, keys, 1, "Marcha pacífica en la plaza")
        wait_for(lambda: get(note["id"]))
        link = wait_for(lambda: _link(Role.INBOX, inbox.url, events_in__gt=0))
        assert link.cursor >= note["created_at"]

        # Forged (a careless relay stores it) and a stranger's: never stored.
        forged = dict(note, content="Texto cambiado", id=_fake_id(note, "Texto cambiado"))
        assert inbox.publish(forged)[2] is True
        stranger = sign_event(SecretKey.generate(), 1, "no soy del equipo")
        inbox.publish(stranger.to_dict())

        # The member's NIP-65 list names another relay: the node looks there too.
        relay_list = _sdk_event(keys, 10002, "", [["r", elsewhere.url, "write"]])
        assert ingest([_event(relay_list)])[0].ok
        there = _sdk_send(elsewhere.url, keys, 1, "Publicado en otro relay")
        wait_for(lambda: get(there["id"]))
        assert get(forged["id"]) is None
        assert get(stranger.id) is None

        # A revoked key's new events are refused even when a relay carries them.
        membership.revoke(reporter, int(time.time()) - 5, "key lost")
        wait_for(lambda: node_policy().role(reporter) is None)
        after = _sdk_send(inbox.url, keys, 1, "después de la revocación")
        late = _sdk_send(elsewhere.url, keys, 1, "otro más")
        time.sleep(2)  # give the live subscriptions time to deliver, then check
        assert get(after["id"]) is None
        assert get(late["id"]) is None

    def test_gift_wrapped_check_in_is_unwrapped_unsigned_rumors_refused(
        self, node, newsroom, relays
    ):
        inbox = relays[0]
        keys = sdk.Keys.generate()
        reporter = keys.public_key().to_hex()
        membership.add(reporter, "reporter")
        wait_for(lambda: node_policy().role(reporter) == "reporter")
        node_key = sdk.PublicKey.parse(newsroom.node_pubkey)
        outlet_key = sdk.PublicKey.parse(newsroom.outlet_key.pubkey)

        # Minga's form, built with nostr-sdk's own NIP-44 and events: a signed
        # check-in (kind 14), sealed by its author, wrapped with a one-time key.
        check_in = _sdk_event(
            keys, 14, "check-in: a salvo en Puno", [["p", newsroom.outlet_key.pubkey]]
        )
        wrap = _sdk_wrap(keys, node_key, json.dumps(check_in))
        assert inbox.publish(wrap)[2] is True
        stored = wait_for(lambda: get(check_in["id"]))
        assert stored.pubkey == reporter
        assert stored.sig == check_in["sig"]
        assert get(wrap["id"]) is None  # the wrap itself is not kept

        # Minga's own wrap to the outlet key works the same way.
        draft = sign_event(newsroom.member("reporter"), 30024, SECRET, [["d", "x"]])
        assert inbox.publish(
            giftwrap.wrap(
                draft, newsroom.members[draft.pubkey], newsroom.outlet_key.pubkey
            ).to_dict()
        )[2]
        wait_for(lambda: get(draft.id))

        # NIP-59's standard unsigned rumor (nostr-sdk's gift wrap): refused.
        rumor = sdk.EventBuilder(sdk.Kind(14), "sin firma").finalize_unsigned(keys.public_key())
        standard = run(_standard_wrap(keys, outlet_key, rumor))
        assert inbox.publish(json.loads(standard.as_json()))[2] is True
        late = _sdk_send(inbox.url, keys, 1, "después del sobre sin firma")
        wait_for(lambda: get(late["id"]))  # the relay's events before it were seen
        rumor_id = rumor.id()
        assert rumor_id is None or get(rumor_id.to_hex()) is None


# -- helpers ---------------------------------------------------------------------------


def node_policy():
    from minga.node import runtime

    assert runtime.CURRENT is not None
    return runtime.CURRENT.policy


def _sdk_event(keys: sdk.Keys, kind: int, content: str, tags=()) -> dict:
    return sdk_event(keys, kind, content, [list(t) for t in tags])


def _sdk_send(url: str, keys: sdk.Keys, kind: int, content: str) -> dict:
    """Publish with nostr-sdk's client to ``url`` only; return the event."""
    event = sdk.EventBuilder(sdk.Kind(kind), content).finalize(keys)

    async def send() -> None:
        sdk.uniffi_set_event_loop(asyncio.get_running_loop())
        client = sdk.ClientBuilder().build()
        await client.add_relay(sdk.RelayUrl.parse(url))
        await client.connect()
        try:
            sent = await client.send_event(event)
            assert [str(u).rstrip("/") for u in sent.success] == [url], sent.failed
        finally:
            await client.disconnect()

    run(send())
    return json.loads(event.as_json())


def _sdk_wrap(author: sdk.Keys, recipient: sdk.PublicKey, inner_json: str) -> dict:
    """Seal and wrap with nostr-sdk's NIP-44 (what any client can do)."""
    sealed = sdk.EventBuilder(
        sdk.Kind(13),
        sdk.nip44_encrypt(author.secret_key(), recipient, inner_json, sdk.Nip44Version.V2),
    ).finalize(author)
    one_time = sdk.Keys.generate()
    wrap = (
        sdk.EventBuilder(
            sdk.Kind(1059),
            sdk.nip44_encrypt(
                one_time.secret_key(), recipient, sealed.as_json(), sdk.Nip44Version.V2
            ),
        )
        .tags([sdk.Tag.parse(["p", recipient.to_hex()])])
        .custom_created_at(sdk.Timestamp.from_secs(int(time.time()) - 3600))
        .finalize(one_time)
    )
    return json.loads(wrap.as_json())


async def _standard_wrap(keys: sdk.Keys, recipient: sdk.PublicKey, rumor) -> sdk.Event:
    sdk.uniffi_set_event_loop(asyncio.get_running_loop())
    return await sdk.nip59_make_gift_wrap_async(keys, recipient, rumor)


def _fake_id(event: dict, content: str) -> str:
    from minga.events.event import compute_id

    return compute_id(event["pubkey"], event["created_at"], event["kind"], event["tags"], content)
