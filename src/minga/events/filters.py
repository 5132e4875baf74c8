"""NIP-01 filters: parsing from outside and matching events in Python.

The same :class:`Filter` drives the relay's live subscriptions (matched here)
and stored queries (compiled to SQL by :mod:`minga.events.sql`); property tests
hold the two to the same answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from minga.events.event import Event
from minga.exceptions import InvalidFilter

_HEX64 = re.compile(r"[0-9a-f]{64}")
_TAG_KEY = re.compile(r"#[a-zA-Z]")
_HEX_TAGS = frozenset("ep")  # NIP-01: #e and #p values are exact 64-char lowercase hex
_MAX_TS = 2**53 - 1


@dataclass(frozen=True)
class FilterLimits:
    max_values: int = 1000
    max_limit: int = 1000
    max_tag_value_bytes: int = 1024


DEFAULT_FILTER_LIMITS = FilterLimits()


@dataclass(frozen=True)
class Filter:
    """One NIP-01 filter. ``None`` means the condition is absent."""

    ids: frozenset[str] | None = None
    authors: frozenset[str] | None = None
    kinds: frozenset[int] | None = None
    tags: dict[str, frozenset[str]] = field(default_factory=dict)
    since: int | None = None
    until: int | None = None
    limit: int | None = None

    def matches(self, event: Event) -> bool:
        if self.ids is not None and event.id not in self.ids:
            return False
        if self.authors is not None and event.pubkey not in self.authors:
            return False
        if self.kinds is not None and event.kind not in self.kinds:
            return False
        if self.since is not None and event.created_at < self.since:
            return False
        if self.until is not None and event.created_at > self.until:
            return False
        for name, values in self.tags.items():
            if not any(len(t) > 1 and t[0] == name and t[1] in values for t in event.tags):
                return False
        return True

    @property
    def impossible(self) -> bool:
        """True when no event can match (an empty list, or since > until)."""
        lists: list[Any] = [self.ids, self.authors, self.kinds, *self.tags.values()]
        if any(values is not None and not values for values in lists):
            return True
        return self.since is not None and self.until is not None and self.since > self.until

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.ids is not None:
            out["ids"] = sorted(self.ids)
        if self.authors is not None:
            out["authors"] = sorted(self.authors)
        if self.kinds is not None:
            out["kinds"] = sorted(self.kinds)
        for name, values in sorted(self.tags.items()):
            out[f"#{name}"] = sorted(values)
        for key in ("since", "until", "limit"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


def _string_list(key: str, value: Any, limits: FilterLimits, hex64: bool) -> frozenset[str]:
    if not isinstance(value, list):
        raise InvalidFilter(f"{key!r} must be an array")
    if len(value) > limits.max_values:
        raise InvalidFilter(f"{key!r} has more than {limits.max_values} values")
    for item in value:
        if not isinstance(item, str):
            raise InvalidFilter(f"{key!r} values must be strings")
        if hex64 and not _HEX64.fullmatch(item):
            raise InvalidFilter(f"{key!r} values must be 64 lowercase hex characters")
        if len(item.encode("utf-8", "surrogatepass")) > limits.max_tag_value_bytes:
            raise InvalidFilter(f"a {key!r} value is too long")
    return frozenset(value)


def _timestamp(key: str, value: Any) -> int:
    if type(value) is not int or not 0 <= value <= _MAX_TS:
        raise InvalidFilter(f"{key!r} must be a non-negative integer")
    return value


def parse_filter(obj: Any, limits: FilterLimits = DEFAULT_FILTER_LIMITS) -> Filter:
    """Validate one filter object from outside; unknown fields are refused."""
    if not isinstance(obj, dict):
        raise InvalidFilter("a filter must be a JSON object")
    ids = authors = None
    kinds: frozenset[int] | None = None
    tags: dict[str, frozenset[str]] = {}
    since = until = limit = None
    for key, value in obj.items():
        if key == "ids":
            ids = _string_list(key, value, limits, hex64=True)
        elif key == "authors":
            authors = _string_list(key, value, limits, hex64=True)
        elif key == "kinds":
            if not isinstance(value, list) or len(value) > limits.max_values:
                raise InvalidFilter(f"'kinds' must be an array of at most {limits.max_values}")
            if any(type(k) is not int or not 0 <= k <= 65535 for k in value):
                raise InvalidFilter("'kinds' values must be integers between 0 and 65535")
            kinds = frozenset(value)
        elif key == "since":
            since = _timestamp(key, value)
        elif key == "until":
            until = _timestamp(key, value)
        elif key == "limit":
            if type(value) is not int or value < 0:
                raise InvalidFilter("'limit' must be a non-negative integer")
            limit = min(value, limits.max_limit)
        elif isinstance(key, str) and _TAG_KEY.fullmatch(key):
            tags[key[1]] = _string_list(key, value, limits, hex64=key[1] in _HEX_TAGS)
        else:
            raise InvalidFilter(f"unknown filter field {str(key)[:40]!r}")
    return Filter(ids, authors, kinds, tags, since, until, limit)


def parse_filters(
    objs: Iterable[Any], limits: FilterLimits = DEFAULT_FILTER_LIMITS
) -> list[Filter]:
    return [parse_filter(o, limits) for o in objs]


def matches_any(filters: Iterable[Filter], event: Event) -> bool:
    return any(f.matches(event) for f in filters)
