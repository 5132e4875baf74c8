"""NIP-42: check a client's kind 22242 AUTH event against our challenge."""

from __future__ import annotations

import time
from urllib.parse import urlparse

from minga.events.event import Event
from minga.events.kinds import CLIENT_AUTH
from minga.exceptions import InvalidEvent


def _netloc(url: str) -> str:
    parsed = urlparse(url)
    host = (parsed.hostname or "").lower()
    port = parsed.port
    if port is None:
        port = 443 if parsed.scheme in ("wss", "https") else 80
    return f"{host}:{port}"


def check_auth_event(
    event: Event,
    challenge: str,
    accepted_urls: list[str],
    *,
    window: int = 600,
    now: int | None = None,
) -> None:
    """Raise InvalidEvent unless ``event`` answers ``challenge`` for this relay.

    The ``relay`` tag must name one of ``accepted_urls`` by host and port (the
    public URL and the Host the client connected to); the path is not compared.
    """
    now = int(time.time()) if now is None else now
    if event.kind != CLIENT_AUTH:
        raise InvalidEvent("AUTH needs a kind 22242 event")
    if abs(event.created_at - now) > window:
        raise InvalidEvent("AUTH event created_at is too far from now")
    if event.first_tag_value("challenge") != challenge:
        raise InvalidEvent("AUTH challenge does not match")
    relay = event.first_tag_value("relay")
    if relay is None:
        raise InvalidEvent("AUTH event has no relay tag")
    if _netloc(relay) not in {_netloc(u) for u in accepted_urls}:
        raise InvalidEvent("AUTH relay tag names another relay")
