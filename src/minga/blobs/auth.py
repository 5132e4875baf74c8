"""BUD-11 authorization tokens: kind 24242 events in ``Authorization: Nostr …``."""

from __future__ import annotations

import base64
import binascii
import json
import time

from minga.events.event import Event
from minga.events.kinds import BLOSSOM_AUTH
from minga.events.validate import Limits, parse_event
from minga.exceptions import InvalidEvent, TooLarge, Unauthorized

MAX_HEADER_BYTES = 16384


def decode_header(header: str | None) -> Event:
    if not header:
        raise Unauthorized("an Authorization: Nostr <token> header is required")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "nostr" or not token:
        raise Unauthorized("the Authorization scheme must be Nostr")
    if len(token) > MAX_HEADER_BYTES:
        raise Unauthorized("the authorization token is too large")
    token = token.strip()
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        obj = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise Unauthorized("the authorization token is not base64url JSON") from exc
    try:
        return parse_event(obj, Limits(max_event_tags=200, max_content_chars=1000))
    except (InvalidEvent, TooLarge) as exc:
        raise Unauthorized(f"the authorization event is not valid: {exc.message}") from exc


def authorize(
    header: str | None,
    verb: str,
    *,
    server: str,
    blob: str | None = None,
    require_x: bool = False,
    now: int | None = None,
    slack: int = 600,
) -> str:
    """Check a BUD-11 token for ``verb`` and return the authorized pubkey."""
    event = decode_header(header)
    now = int(time.time()) if now is None else now
    if event.kind != BLOSSOM_AUTH:
        raise Unauthorized("the authorization event must be kind 24242")
    if event.created_at > now + 60:
        raise Unauthorized("the authorization event is dated in the future")
    if event.created_at < now - 7 * 86400 - slack:
        raise Unauthorized("the authorization event is too old")
    expiration = event.first_tag_value("expiration")
    if expiration is None or not expiration.isdigit():
        raise Unauthorized("the authorization event needs an expiration tag")
    if int(expiration) <= now:
        raise Unauthorized("the authorization event has expired")
    if verb not in event.tag_values("t"):
        raise Unauthorized(f"the authorization event does not allow {verb!r}")
    servers = event.tag_values("server")
    if servers and server.lower() not in {s.lower() for s in servers}:
        raise Unauthorized("the authorization event is for another server")
    hashes = event.tag_values("x")
    if require_x and (blob is None or blob not in hashes):
        raise Unauthorized("the authorization event does not name this blob (x tag)")
    if not require_x and hashes and blob is not None and blob not in hashes:
        raise Unauthorized("the authorization event names other blobs")
    return event.pubkey


def encode_header(event: Event) -> str:
    """The header value for ``event`` (used by minga's own clients and tests)."""
    token = base64.urlsafe_b64encode(event.to_json().encode()).rstrip(b"=").decode()
    return f"Nostr {token}"
