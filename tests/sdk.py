"""Events and keys made by nostr-sdk (rust-nostr): an implementation nobody here wrote."""

from __future__ import annotations

import json
from typing import Any

import nostr_sdk as sdk


def keys() -> sdk.Keys:
    return sdk.Keys.generate()


def event(
    key: sdk.Keys,
    kind: int,
    content: str,
    tags: list[list[str]] | None = None,
    created_at: int | None = None,
) -> dict[str, Any]:
    builder = sdk.EventBuilder(sdk.Kind(kind), content).tags(
        [sdk.Tag.parse(t) for t in (tags or [])]
    )
    if created_at is not None:
        builder = builder.custom_created_at(sdk.Timestamp.from_secs(created_at))
    return json.loads(builder.finalize(key).as_json())


def verifies(event_json: str) -> bool:
    """Does nostr-sdk accept this event (id and signature)?"""
    try:
        parsed = sdk.Event.from_json(event_json)
    except Exception:
        return False
    return bool(parsed.verify())
