"""Events made by nostr-sdk verify in minga, and minga's events verify in nostr-sdk;
any change to a signed field is caught by both."""

from __future__ import annotations

import copy

import pytest

from minga.events import SecretKey, parse_event, sign_event
from minga.exceptions import InvalidEvent
from tests import sdk

CONTENTS = [
    "",
    "hola mundo",
    'comillas "dobles", barra \\ invertida y salto\nde línea\ttab\r\x08\x0c',
    "control \x00 \x01 \x1f y borrar \x7f",
    "unicode: ñandú, 日本語, emoji 🎉✊🏽, separadores \u2028 \u2029",
    "larga " * 5000,
]

TAGS = [
    [],
    [["t", "paronacional"], ["p", "a" * 64, "wss://relay.example/"]],
    [["d", "despacho-1"], ["title", 'Título con "comillas"'], ["-"]],
    [["e", "b" * 64, "", "root"], ["a", f"30023:{'c' * 64}:x"], ["x"]],
]


@pytest.mark.parametrize("content", CONTENTS)
@pytest.mark.parametrize("tags", TAGS)
def test_nostr_sdk_events_verify_in_minga(content, tags):
    key = sdk.keys()
    made = sdk.event(key, 1, content, tags, created_at=1_700_000_000)
    event = parse_event(made)
    assert event.pubkey == key.public_key().to_hex()
    assert event.to_dict() == made


@pytest.mark.parametrize("kind", [0, 1, 5, 1063, 10002, 20001, 30023, 65535])
def test_every_kind_class_from_nostr_sdk_verifies(kind):
    made = sdk.event(sdk.keys(), kind, "x", [["d", "k"]])
    assert parse_event(made).kind == kind


@pytest.mark.parametrize("content", CONTENTS)
def test_minga_events_verify_in_nostr_sdk(content):
    event = sign_event(SecretKey.generate(), 30023, content, [["d", "x"], ["t", "ñ"]])
    assert sdk.verifies(event.to_json())


def _mutations(made):
    changes = {
        "content": lambda e: e.__setitem__("content", e["content"] + "."),
        "created_at": lambda e: e.__setitem__("created_at", e["created_at"] + 1),
        "kind": lambda e: e.__setitem__("kind", e["kind"] + 1),
        "tags": lambda e: e["tags"].append(["t", "extra"]),
        "tag value": lambda e: e["tags"][0].__setitem__(1, "otro"),
        "pubkey": lambda e: e.__setitem__("pubkey", SecretKey.generate().pubkey),
        "sig": lambda e: e.__setitem__(
            "sig", e["sig"][:-2] + ("00" if e["sig"][-2:] != "00" else "01")
        ),
        "id": lambda e: e.__setitem__("id", "0" * 64),
    }
    for name, change in changes.items():
        mutated = copy.deepcopy(made)
        change(mutated)
        yield name, mutated


def test_mutated_copies_fail_in_minga_and_in_nostr_sdk():
    made = sdk.event(sdk.keys(), 1, "despacho original", [["t", "paro"]], 1_700_000_000)
    import json

    for name, mutated in _mutations(made):
        with pytest.raises(InvalidEvent):
            parse_event(mutated)
        assert not sdk.verifies(json.dumps(mutated)), name


def test_an_id_recomputed_after_a_change_still_fails_on_the_signature():
    from minga.events import compute_id

    made = sdk.event(sdk.keys(), 1, "original")
    made["content"] = "forjado"
    made["id"] = compute_id(
        made["pubkey"], made["created_at"], made["kind"], made["tags"], made["content"]
    )
    with pytest.raises(InvalidEvent, match="signature"):
        parse_event(made)
