"""One signed Nostr event in one LXMF message, and back.

Compact binary: a 3-byte header (``MG`` + format version), then the id,
pubkey and signature as raw bytes (128 bytes instead of 256 hexadecimal
characters, which deflate badly), then ``[created_at, kind, tags, content]``
as JSON deflated with zlib. It travels in LXMF's custom fields, so an LXMF
client that is not minga shows an empty message instead of noise. Radio time
is scarce, so the sender refuses anything over its ``mesh_max_event_bytes``;
the receiver caps what it reads both before (``MAX_WIRE_BYTES``) and after
decompression (``MAX_PLAIN_BYTES``), so a small message can never inflate
into a large one. Decoding checks the shape and the id; the signature is
checked by the store's ingest, like every other path.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from minga.events.event import Event
from minga.events.validate import DEFAULT_LIMITS, Limits, check_id, check_shape
from minga.exceptions import InvalidEvent, TooLarge

MAGIC = b"MG\x02"
HEAD = len(MAGIC) + 32 + 32 + 64  # header, id, pubkey, sig
CUSTOM_TYPE = b"minga/nostr-event"
MAX_WIRE_BYTES = 16 * 1024  # a LoRa link moves ~1 KB/s at best: far above any real message
MAX_PLAIN_BYTES = 64 * 1024


def encode(event: Event, max_bytes: int) -> bytes:
    """The payload for ``event``; :class:`TooLarge` when it would not fit ``max_bytes``."""
    body = json.dumps(
        [event.created_at, event.kind, event.tags, event.content],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    raw = bytes.fromhex(event.id) + bytes.fromhex(event.pubkey) + bytes.fromhex(event.sig)
    payload = MAGIC + raw + zlib.compress(body.encode(), 9)
    if len(payload) > min(max_bytes, MAX_WIRE_BYTES):
        raise TooLarge(
            f"event {event.id[:12]} is {len(payload)} bytes compressed,"
            f" over the mesh limit of {min(max_bytes, MAX_WIRE_BYTES)}"
        )
    return payload


def decode(payload: bytes, limits: Limits = DEFAULT_LIMITS) -> Event:
    """The event in ``payload``, shape and id checked (not the signature)."""
    if not isinstance(payload, bytes):
        raise InvalidEvent("mesh message: the payload is not bytes")
    if len(payload) > MAX_WIRE_BYTES:
        raise TooLarge(f"mesh message of {len(payload)} bytes is over {MAX_WIRE_BYTES}")
    if not payload.startswith(MAGIC) or len(payload) < HEAD:
        raise InvalidEvent("mesh message: not a minga event (bad header)")
    inflater = zlib.decompressobj()
    try:
        plain = inflater.decompress(payload[HEAD:], MAX_PLAIN_BYTES)
    except zlib.error as exc:
        raise InvalidEvent(f"mesh message: not valid compressed data ({exc})") from exc
    if inflater.unconsumed_tail:
        raise TooLarge(f"mesh message inflates to more than {MAX_PLAIN_BYTES} bytes")
    if not inflater.eof or inflater.unused_data:
        raise InvalidEvent("mesh message: truncated or trailing data")
    if len(plain) > limits.max_json_bytes:
        raise TooLarge(f"mesh message event is larger than {limits.max_json_bytes} bytes")
    try:
        body: Any = json.loads(plain)
    except (ValueError, RecursionError) as exc:
        raise InvalidEvent(f"mesh message: not valid JSON ({str(exc)[:80]})") from exc
    if not isinstance(body, list) or len(body) != 4:
        raise InvalidEvent("mesh message: the body is not [created_at, kind, tags, content]")
    raw = payload[len(MAGIC) : HEAD]
    obj = {
        "id": raw[:32].hex(),
        "pubkey": raw[32:64].hex(),
        "created_at": body[0],
        "kind": body[1],
        "tags": body[2],
        "content": body[3],
        "sig": raw[64:].hex(),
    }
    return check_id(check_shape(obj, limits))


def fields(payload: bytes) -> dict[int, bytes]:
    """LXMF fields that carry ``payload`` (FIELD_CUSTOM_TYPE / FIELD_CUSTOM_DATA)."""
    from LXMF import FIELD_CUSTOM_DATA, FIELD_CUSTOM_TYPE

    return {FIELD_CUSTOM_TYPE: CUSTOM_TYPE, FIELD_CUSTOM_DATA: payload}


def payload_of(message_fields: Any) -> bytes:
    """The payload in an LXMF message's fields; :class:`InvalidEvent` if there is none."""
    from LXMF import FIELD_CUSTOM_DATA, FIELD_CUSTOM_TYPE

    if not isinstance(message_fields, dict) or message_fields.get(FIELD_CUSTOM_TYPE) != CUSTOM_TYPE:
        raise InvalidEvent("mesh message: not a minga event (no minga field)")
    data = message_fields.get(FIELD_CUSTOM_DATA)
    if not isinstance(data, bytes):
        raise InvalidEvent("mesh message: the minga field holds no bytes")
    return data
