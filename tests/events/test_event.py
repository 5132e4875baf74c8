from __future__ import annotations

import hashlib
import json

import pytest

from minga.events import (
    Event,
    SecretKey,
    compute_id,
    kind_class,
    newer,
    serialize_for_id,
    sign_event,
)
from minga.events.kinds import KindClass


def test_serialization_is_the_nip01_array_without_spaces():
    data = serialize_for_id("ab" * 32, 1, 30023, [["d", "x"]], 'a "b"\n')
    assert data == ('[0,"' + "ab" * 32 + '",1,30023,[["d","x"]],"a \\"b\\"\\n"]').encode()


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("\n", "\\n"),
        ('"', '\\"'),
        ("\\", "\\\\"),
        ("\r", "\\r"),
        ("\t", "\\t"),
        ("\b", "\\b"),
        ("\f", "\\f"),
        ("ñ", "ñ"),
        ("🎉", "🎉"),
        ("/", "/"),
        ("\u2028", "\u2028"),
        ("\x7f", "\x7f"),
        ("\x01", "\\u0001"),
    ],
)
def test_escaping_follows_nip01(text, escaped):
    data = serialize_for_id("00" * 32, 0, 1, [], text).decode()
    assert data.endswith(f',"{escaped}"]')


def test_id_is_sha256_of_serialization():
    args = ("11" * 32, 1_700_000_000, 1, [["t", "x"]], "hola")
    assert compute_id(*args) == hashlib.sha256(serialize_for_id(*args)).hexdigest()


def test_lone_surrogate_has_no_canonical_form():
    with pytest.raises(UnicodeEncodeError):
        serialize_for_id("00" * 32, 0, 1, [], "\ud800")


@pytest.mark.parametrize(
    ("kind", "klass"),
    [
        (0, KindClass.REPLACEABLE),
        (1, KindClass.REGULAR),
        (3, KindClass.REPLACEABLE),
        (5, KindClass.REGULAR),
        (44, KindClass.REGULAR),
        (45, KindClass.REGULAR),
        (999, KindClass.REGULAR),
        (1000, KindClass.REGULAR),
        (9999, KindClass.REGULAR),
        (10000, KindClass.REPLACEABLE),
        (19999, KindClass.REPLACEABLE),
        (20000, KindClass.EPHEMERAL),
        (29999, KindClass.EPHEMERAL),
        (30000, KindClass.ADDRESSABLE),
        (39999, KindClass.ADDRESSABLE),
        (40000, KindClass.REGULAR),
    ],
)
def test_kind_classes(kind, klass):
    assert kind_class(kind) is klass


def test_addresses():
    key = SecretKey.generate()
    assert sign_event(key, 30023, "", [["d", "a"]]).address == f"30023:{key.pubkey}:a"
    assert sign_event(key, 30023, "").address == f"30023:{key.pubkey}:"
    assert sign_event(key, 10002, "").address == f"10002:{key.pubkey}:"
    assert sign_event(key, 1, "").address is None


def test_newer_prefers_later_then_lowest_id():
    a = Event("a" * 64, "p" * 64, 10, 0, [], "", "s" * 128)
    b = Event("b" * 64, "p" * 64, 10, 0, [], "", "s" * 128)
    c = Event("c" * 64, "p" * 64, 11, 0, [], "", "s" * 128)
    assert newer(a, b)
    assert not newer(b, a)
    assert newer(c, a)
    assert not newer(a, c)


def test_indexed_tags_are_single_letter_first_values_once():
    event = sign_event(
        SecretKey.generate(),
        1,
        "",
        [
            ["t", "a"],
            ["t", "a"],
            ["T", "b"],
            ["title", "x"],
            ["e"],
            ["ñ", "x"],
            ["p", "c", "relay"],
        ],
    )
    assert event.indexed_tags() == [("t", "a"), ("T", "b"), ("p", "c")]


def test_to_json_round_trips():
    event = sign_event(SecretKey.generate(), 1, "ñ\n", [["t", "x"]])
    assert json.loads(event.to_json()) == event.to_dict()
    assert list(event.to_dict()) == ["id", "pubkey", "created_at", "kind", "tags", "content", "sig"]


def test_secret_key_repr_hides_the_secret():
    key = SecretKey.generate()
    assert key.hex() not in repr(key)
