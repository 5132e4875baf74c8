from __future__ import annotations

import pytest

from minga.events import Filter, FilterLimits, SecretKey, parse_filter, sign_event
from minga.exceptions import InvalidFilter

KEY = SecretKey.generate()
HEX = "ab" * 32


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([], "JSON object"),
        ({"search": "x"}, "unknown filter field 'search'"),
        ({"ids": "x"}, "must be an array"),
        ({"ids": ["ABC"]}, "64 lowercase hex"),
        ({"authors": [HEX[:-1]]}, "64 lowercase hex"),
        ({"#p": ["nope"]}, "64 lowercase hex"),
        ({"#e": [1]}, "strings"),
        ({"kinds": [-1]}, "kinds"),
        ({"kinds": [1.0]}, "kinds"),
        ({"kinds": "1"}, "kinds"),
        ({"since": "yesterday"}, "since"),
        ({"until": -5}, "until"),
        ({"limit": -1}, "limit"),
        ({"limit": True}, "limit"),
        ({"#tt": ["x"]}, "unknown filter field"),
        ({"#1": ["x"]}, "unknown filter field"),
    ],
)
def test_bad_filters_are_named(obj, message):
    with pytest.raises(InvalidFilter, match=message):
        parse_filter(obj)


def test_limits_on_filters():
    limits = FilterLimits(max_values=2, max_limit=10, max_tag_value_bytes=4)
    with pytest.raises(InvalidFilter, match="more than 2"):
        parse_filter({"authors": [HEX, HEX, HEX]}, limits)
    with pytest.raises(InvalidFilter, match="too long"):
        parse_filter({"#t": ["ñandú"]}, limits)
    assert parse_filter({"limit": 500}, limits).limit == 10


def test_matching():
    event = sign_event(KEY, 1, "", [["t", "paro"], ["p", HEX]], created_at=100)
    assert parse_filter({}).matches(event)
    assert parse_filter({"ids": [event.id]}).matches(event)
    assert not parse_filter({"ids": [HEX]}).matches(event)
    assert parse_filter({"authors": [KEY.pubkey], "kinds": [0, 1]}).matches(event)
    assert not parse_filter({"kinds": [0]}).matches(event)
    assert parse_filter({"since": 100, "until": 100}).matches(event)
    assert not parse_filter({"since": 101}).matches(event)
    assert not parse_filter({"until": 99}).matches(event)
    assert parse_filter({"#t": ["paro", "otro"], "#p": [HEX]}).matches(event)
    assert not parse_filter({"#t": ["otro"]}).matches(event)
    assert not parse_filter({"#T": ["paro"]}).matches(event)


def test_only_the_first_value_of_a_tag_is_matched():
    event = sign_event(KEY, 1, "", [["e", HEX, "wss://r"]])
    assert not parse_filter({"#e": ["cd" * 32]}).matches(event)
    assert not Filter(tags={"r": frozenset(["wss://r"])}).matches(event)


def test_impossible_filters():
    assert parse_filter({"ids": []}).impossible
    assert parse_filter({"since": 5, "until": 4}).impossible
    assert not parse_filter({"since": 4, "until": 4}).impossible


def test_to_dict_round_trips():
    obj = {"authors": [HEX], "kinds": [1, 30023], "#t": ["a"], "since": 1, "limit": 5}
    assert parse_filter(parse_filter(obj).to_dict()) == parse_filter(obj)
