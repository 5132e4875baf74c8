"""Events and keys made by nostr-sdk (rust-nostr): an implementation nobody here wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import nostr_sdk as sdk

from minga.keys.nip19 import nsec_encode

CLIENT_SCRIPT = Path(__file__).resolve().parent / "interop" / "nostr_sdk_client.py"


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


def run_client(node: Any, key: Any) -> dict[str, Any]:
    """Run the nostr-sdk client script against ``node`` as ``key``; return what it saw."""
    done = subprocess.run(
        [sys.executable, str(CLIENT_SCRIPT), node.relay_url, nsec_encode(key.hex()), node.base_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
