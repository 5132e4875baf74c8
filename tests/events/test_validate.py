from __future__ import annotations

import copy
import time

import pytest

from minga.events import Limits, SecretKey, parse_event, sign_event
from minga.events.validate import loads_json, parse_event_json
from minga.exceptions import InvalidEvent, TooLarge

KEY = SecretKey.generate()


def good(**overrides):
    event = sign_event(KEY, 1, "hola", [["t", "x"]]).to_dict()
    event.update(overrides)
    return event


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.pop("sig"), "missing field"),
        (lambda e: e.update(extra=1), "unexpected field"),
        (lambda e: e.update(id="A" * 64), "id must be 64 lowercase hex"),
        (lambda e: e.update(id="ab"), "id must be 64 lowercase hex"),
        (lambda e: e.update(pubkey=123), "pubkey must be 64 lowercase hex"),
        (lambda e: e.update(sig="zz" * 64), "sig must be 128 lowercase hex"),
        (lambda e: e.update(created_at="1700000000"), "created_at must be"),
        (lambda e: e.update(created_at=1.5), "created_at must be"),
        (lambda e: e.update(created_at=True), "created_at must be"),
        (lambda e: e.update(created_at=-1), "created_at must be"),
        (lambda e: e.update(kind=70000), "kind must be"),
        (lambda e: e.update(kind=None), "kind must be"),
        (lambda e: e.update(content=None), "content must be a string"),
        (lambda e: e.update(tags={}), "tags must be an array"),
        (lambda e: e.update(tags=[[]]), "non-empty array"),
        (lambda e: e.update(tags=[["t", 1]]), "tag elements must be strings"),
        (lambda e: e.update(tags=["t"]), "non-empty array"),
        (lambda e: e.update(tags=[["t", "a\x00b"]]), "NUL"),
        (lambda e: e.update(content=e["content"] + "!"), "id does not match"),
        (lambda e: e.update(content="\ud800"), "lone surrogate"),
    ],
)
def test_each_defect_is_named(change, message):
    event = good()
    change(event)
    with pytest.raises(InvalidEvent, match=message):
        parse_event(event)


def test_not_an_object():
    with pytest.raises(InvalidEvent, match="JSON object"):
        parse_event(["EVENT"])


def test_far_future_is_refused_and_near_future_accepted():
    now = int(time.time())
    near = sign_event(KEY, 1, "", created_at=now + 60).to_dict()
    far = sign_event(KEY, 1, "", created_at=now + 3600).to_dict()
    assert parse_event(near, now=now).created_at == now + 60
    with pytest.raises(InvalidEvent, match="too far in the future"):
        parse_event(far, now=now)


def test_old_events_are_accepted():
    # Archives and sync bring old events; only the future is bounded.
    assert parse_event(sign_event(KEY, 1, "", created_at=1).to_dict()).created_at == 1


def test_limits():
    limits = Limits(
        max_content_chars=10, max_event_tags=2, max_tag_bytes=20, max_index_value_bytes=8
    )
    with pytest.raises(TooLarge, match="content"):
        parse_event(sign_event(KEY, 1, "x" * 11).to_dict(), limits)
    with pytest.raises(TooLarge, match="tags"):
        parse_event(sign_event(KEY, 1, "", [["a"], ["b"], ["c"]]).to_dict(), limits)
    with pytest.raises(TooLarge, match="tag element"):
        parse_event(sign_event(KEY, 1, "", [["title", "ñ" * 11]]).to_dict(), limits)
    with pytest.raises(TooLarge, match="value of tag 't'"):
        parse_event(sign_event(KEY, 1, "", [["t", "123456789"]]).to_dict(), limits)
    assert parse_event(sign_event(KEY, 1, "", [["title", "123456789"]]).to_dict(), limits)


def test_bad_signature_is_refused():
    event = good()
    other = sign_event(SecretKey.generate(), 1, "hola", [["t", "x"]]).to_dict()
    forged = copy.deepcopy(event)
    forged["sig"] = other["sig"]
    with pytest.raises(InvalidEvent, match="signature"):
        parse_event(forged)


def test_pubkey_not_on_the_curve_is_refused():
    from minga.events import compute_id

    event = good()
    event["pubkey"] = "f" * 64  # not an x coordinate on secp256k1
    event["id"] = compute_id(event["pubkey"], event["created_at"], 1, event["tags"], "hola")
    with pytest.raises(InvalidEvent, match="signature"):
        parse_event(event)


def test_json_errors_are_clear():
    with pytest.raises(InvalidEvent, match="not valid JSON"):
        parse_event_json("{nope")
    with pytest.raises(TooLarge, match="larger than"):
        loads_json("x" * 100, 10)
    with pytest.raises(InvalidEvent, match="not valid JSON"):
        loads_json("[" * 100000, 10**6)
