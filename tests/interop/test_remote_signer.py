"""NIP-46: a reporter keeps their key in their own remote signer (a bunker made
with NDK, nostr-dev-kit, run by Node.js); the node asks it to sign over its relay."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import pytest

from minga.events import SecretKey
from minga.exceptions import Forbidden, InvalidInput
from minga.newsroom import filing, people
from minga.newsroom.nip46 import Bunker, RemoteSigner, parse_uri
from minga.store.query import latest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("bunker.mjs")
PASSWORD = "una clave larga de prueba"


@pytest.fixture
def bunker(node):
    """A running NDK bunker on the node's relay, holding a fresh key."""
    if not (ROOT / "node_modules" / "@nostr-dev-kit" / "ndk").is_dir():
        pytest.fail("run `npm ci` first: the bunker is NDK from npm")
    key = SecretKey.generate()
    process = subprocess.Popen(
        ["node", str(SCRIPT), node.relay_url, key.hex()],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("ready "), process.stderr.read()[-2000:]
        assert line.split()[1] == key.pubkey
        yield key
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()


def test_address_parsing():
    signer = "ab" * 32
    parsed = parse_uri(
        f"bunker://{signer}?relay=wss://relay.example&relay=ws://127.0.0.1:1&secret=s3"
    )
    assert parsed == Bunker(signer, ("wss://relay.example", "ws://127.0.0.1:1"), "s3")
    for bad in [
        "nostr://x",
        "bunker://abc?relay=wss://r",
        f"bunker://{signer}",
        f"bunker://{signer}?relay=http://x",
    ]:
        with pytest.raises(InvalidInput):
            parse_uri(bad)


def test_joining_and_filing_with_a_remote_signer(node, newsroom, bunker, django_user_model):
    admin = django_user_model.objects.create_superuser("admin", password=PASSWORD)
    _, token = people.invite(admin, "Rosa", "reporter")
    address = f"bunker://{bunker.pubkey}?relay={node.relay_url}"
    person = people.accept(token, "rosa", PASSWORD, "nip46", bunker=address)
    assert person.pubkey == bunker.pubkey
    assert person.custody == "nip46"
    from minga.keys import custody

    assert not custody.listing_has(bunker.pubkey)  # the node never holds the key
    filed = filing.file(
        person,
        {
            "client_id": str(uuid.uuid4()),
            "kind": "dispatch",
            "title": "Firmado en mi teléfono",
            "body": "El nodo pidió la firma al firmante remoto.",
            "filed_at": int(time.time()),
        },
    )
    stored = latest(filed.key)
    assert stored.pubkey == bunker.pubkey
    assert stored.first_tag_value("title") == "Firmado en mi teléfono"


def test_a_signer_that_is_not_there_fails_cleanly(node, newsroom):
    absent = SecretKey.generate()
    signer = RemoteSigner(
        parse_uri(f"bunker://{absent.pubkey}?relay={node.relay_url}"),
        SecretKey.generate(),
        timeout=2,
    )
    with pytest.raises((Forbidden, TimeoutError)):
        signer.connect()
