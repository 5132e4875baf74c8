"""Parsing untrusted events: shape, sizes, id, time window and signature.

Every check says what is wrong in a message that fits after NIP-01's
``invalid:`` prefix. Nothing here touches a store.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from minga.events.event import Event, compute_id_and_json
from minga.events.signing import verify_signature
from minga.exceptions import InvalidEvent, TooLarge

HEX64 = re.compile(r"[0-9a-f]{64}")
HEX128 = re.compile(r"[0-9a-f]{128}")
_FIELDS = frozenset(("id", "pubkey", "created_at", "kind", "tags", "content", "sig"))
MAX_TIMESTAMP = 2**53 - 1  # the largest integer every JSON reader holds exactly


@dataclass(frozen=True, slots=True)
class Limits:
    """Size and time limits applied to every event from outside."""

    max_content_chars: int = 262144
    max_event_tags: int = 2000
    max_tag_bytes: int = 8192
    max_index_value_bytes: int = 1024
    created_at_future_seconds: int = 900
    max_json_bytes: int = 524288


DEFAULT_LIMITS = Limits()


def _utf8_len_over(text: str, limit: int) -> bool:
    # Cheap test first: UTF-8 needs at most 4 bytes a character.
    return len(text) * 4 > limit and len(text.encode("utf-8", "surrogatepass")) > limit


def check_shape(obj: Any, limits: Limits = DEFAULT_LIMITS, now: int | None = None) -> Event:
    """Check types, hex forms, sizes and the time window; return the Event.

    Does not check the id or the signature (see :func:`parse_event`).
    """
    if not isinstance(obj, dict):
        raise InvalidEvent("an event must be a JSON object")
    if obj.keys() != _FIELDS:
        missing = sorted(_FIELDS - obj.keys())
        extra = sorted(obj.keys() - _FIELDS)
        if missing:
            raise InvalidEvent(f"missing field(s): {', '.join(missing)}")
        raise InvalidEvent(f"unexpected field(s): {', '.join(map(str, extra))[:100]}")
    event_id, pubkey, sig = obj["id"], obj["pubkey"], obj["sig"]
    created_at, kind, tags, content = obj["created_at"], obj["kind"], obj["tags"], obj["content"]
    if not (isinstance(event_id, str) and HEX64.fullmatch(event_id)):
        raise InvalidEvent("id must be 64 lowercase hex characters")
    if not (isinstance(pubkey, str) and HEX64.fullmatch(pubkey)):
        raise InvalidEvent("pubkey must be 64 lowercase hex characters")
    if not (isinstance(sig, str) and HEX128.fullmatch(sig)):
        raise InvalidEvent("sig must be 128 lowercase hex characters")
    if type(created_at) is not int or not 0 <= created_at <= MAX_TIMESTAMP:
        raise InvalidEvent("created_at must be a non-negative integer number of seconds")
    if type(kind) is not int or not 0 <= kind <= 65535:
        raise InvalidEvent("kind must be an integer between 0 and 65535")
    if not isinstance(content, str):
        raise InvalidEvent("content must be a string")
    if len(content) > limits.max_content_chars:
        raise TooLarge(f"content is longer than {limits.max_content_chars} characters")
    if not isinstance(tags, list):
        raise InvalidEvent("tags must be an array of arrays of strings")
    if len(tags) > limits.max_event_tags:
        raise TooLarge(f"more than {limits.max_event_tags} tags")
    for tag in tags:
        if not isinstance(tag, list) or not tag:
            raise InvalidEvent("each tag must be a non-empty array of strings")
        for item in tag:
            if not isinstance(item, str):
                raise InvalidEvent("tag elements must be strings")
            if _utf8_len_over(item, limits.max_tag_bytes):
                raise TooLarge(f"a tag element is longer than {limits.max_tag_bytes} bytes")
        name = tag[0]
        if len(tag) > 1 and len(name) == 1 and name.isascii() and name.isalpha():
            # Single-letter tags are indexed: bounded, and free of NUL (which
            # PostgreSQL text cannot hold), so every backend stores the same events.
            if _utf8_len_over(tag[1], limits.max_index_value_bytes):
                raise TooLarge(
                    f"the value of tag {name!r} is longer than {limits.max_index_value_bytes} bytes"
                )
            if "\x00" in tag[1]:
                raise InvalidEvent(f"the value of tag {name!r} contains a NUL character")
    now = int(time.time()) if now is None else now
    if created_at > now + limits.created_at_future_seconds:
        raise InvalidEvent("created_at is too far in the future")
    return Event(event_id, pubkey, created_at, kind, tags, content, sig)


def check_id(event: Event) -> Event:
    """Check the id against the content; return the event with its JSON attached."""
    fields = (
        event.id,
        event.pubkey,
        event.created_at,
        event.kind,
        event.tags,
        event.content,
        event.sig,
    )
    try:
        computed, raw = compute_id_and_json(*fields)
    except UnicodeEncodeError as exc:
        raise InvalidEvent("event text is not valid Unicode (lone surrogate)") from exc
    if computed != event.id:
        raise InvalidEvent("event id does not match the hash of its content")
    return Event(*fields, raw)


def check_signature(event: Event) -> None:
    if not verify_signature(event):
        raise InvalidEvent("signature is not valid for this id and pubkey")


def parse_event(
    obj: Any,
    limits: Limits = DEFAULT_LIMITS,
    now: int | None = None,
    *,
    verify: bool = True,
) -> Event:
    """Validate an event from outside completely: shape, limits, id and signature."""
    event = check_id(check_shape(obj, limits, now))
    if verify:
        check_signature(event)
    return event


def loads_json(data: str | bytes, max_bytes: int) -> Any:
    """``json.loads`` with a size limit and a clear error."""
    if len(data) > max_bytes:
        raise TooLarge(f"message is larger than {max_bytes} bytes")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InvalidEvent(f"not valid JSON: {str(exc)[:80]}") from exc


def parse_event_json(
    data: str | bytes, limits: Limits = DEFAULT_LIMITS, now: int | None = None
) -> Event:
    return parse_event(loads_json(data, limits.max_json_bytes), limits, now)
