"""Property tests: parsing never fails in any way but a clear MingaError, and
validation accepts exactly the events whose every field is intact."""

from __future__ import annotations

import contextlib
import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minga.events import SecretKey, parse_event, parse_filter, sign_event
from minga.events.validate import parse_event_json
from minga.exceptions import MingaError

KEYS = [SecretKey.generate() for _ in range(3)]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)
tag_text = st.text(max_size=30)
tags = st.lists(st.lists(tag_text, min_size=1, max_size=4), max_size=6)
kinds = st.integers(min_value=0, max_value=65535)
contents = st.text(max_size=200)


@given(json_values)
def test_anything_json_either_parses_or_raises_minga_error(obj):
    with contextlib.suppress(MingaError):
        parse_event(obj)


@given(st.binary(max_size=300))
def test_any_bytes_either_parse_or_raise_minga_error(data):
    with contextlib.suppress(MingaError):
        parse_event_json(data)


@given(
    st.sampled_from(KEYS),
    kinds,
    contents.filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s)),
    tags.filter(lambda ts: all("\x00" not in t[1] for t in ts if len(t) > 1 and len(t[0]) == 1)),
    st.integers(min_value=0, max_value=2_000_000_000),
)
@settings(suppress_health_check=[HealthCheck.filter_too_much])
def test_signed_events_survive_a_json_round_trip(key, kind, content, tags, created_at):
    event = sign_event(key, kind, content, tags, created_at)
    parsed = parse_event(json.loads(event.to_json()), now=2_000_000_000)
    assert parsed == event
    assert json.loads(parsed.to_json()) == event.to_dict()


@given(
    st.sampled_from(["content", "created_at", "kind", "tags", "pubkey", "sig", "id"]),
    st.data(),
)
def test_any_single_change_is_caught(field, data):
    event = sign_event(KEYS[0], 1, "original", [["t", "a"]], 1_700_000_000).to_dict()
    if field == "content":
        event["content"] = data.draw(contents.filter(lambda s: s != "original"))
    elif field == "created_at":
        event["created_at"] = data.draw(
            st.integers(min_value=0, max_value=1_900_000_000).filter(lambda n: n != 1_700_000_000)
        )
    elif field == "kind":
        event["kind"] = data.draw(kinds.filter(lambda k: k != 1))
    elif field == "tags":
        event["tags"] = data.draw(tags.filter(lambda t: t != [["t", "a"]]))
    elif field == "pubkey":
        event["pubkey"] = data.draw(st.sampled_from(KEYS[1:])).pubkey
    elif field == "sig":
        position = data.draw(st.integers(min_value=0, max_value=127))
        digit = data.draw(st.sampled_from(string.hexdigits.lower()[:16]))
        sig = event["sig"]
        if sig[position] == digit:
            digit = "0" if digit != "0" else "1"
        event["sig"] = sig[:position] + digit + sig[position + 1 :]
    else:
        event["id"] = data.draw(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64))
    try:
        parse_event(event, now=2_000_000_000)
    except MingaError:
        return
    raise AssertionError(f"a change to {field} was not caught")


@given(json_values)
def test_any_filter_object_parses_or_raises_minga_error(obj):
    with contextlib.suppress(MingaError):
        parse_filter(obj)
