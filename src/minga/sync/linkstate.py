"""Recording what happens on each path, for the desk (synchronous, ORM).

Every function takes the link's role and URL and creates the row on first
use, so a link shows up on the desk the moment it is first tried.
"""

from __future__ import annotations

import time

from django.db.models import F

from minga.sync.models import Link


def _now() -> int:
    return int(time.time())


def get(role: str, url: str) -> Link:
    """The link's row, created on first use."""
    link, _created = Link.objects.get_or_create(role=role, url=url)
    return link


def _update(role: str, url: str, **fields: object) -> None:
    get(role, url)
    Link.objects.filter(role=role, url=url).update(**fields)


def ensure(role: str, url: str, pubkey: str = "") -> None:
    link = get(role, url)
    if pubkey and link.pubkey != pubkey:
        Link.objects.filter(pk=link.pk).update(pubkey=pubkey)


def cursor(role: str, url: str) -> int:
    """The newest created_at received live from this link (0: none yet)."""
    return int(get(role, url).cursor)


def attempt(role: str, url: str) -> None:
    _update(role, url, last_attempt=_now())


def connected(role: str, url: str) -> None:
    now = _now()
    _update(role, url, connected=True, last_contact=now, last_attempt=now)


def disconnected(role: str, url: str) -> None:
    _update(role, url, connected=False)


def failed(role: str, url: str, message: str) -> None:
    _update(role, url, last_error=message[:2000], last_error_at=_now())


def contact(role: str, url: str) -> None:
    _update(role, url, last_contact=_now())


def received(role: str, url: str, events: int, newest: int = 0) -> None:
    _update(role, url, last_contact=_now(), events_in=F("events_in") + events)
    advance(role, url, newest)


def advance(role: str, url: str, newest: int) -> None:
    """Move the link's cursor forward to ``newest`` (never back)."""
    if newest:
        get(role, url)
        Link.objects.filter(role=role, url=url, cursor__lt=newest).update(cursor=newest)


def sent(role: str, url: str, events: int) -> None:
    _update(role, url, last_contact=_now(), events_out=F("events_out") + events)


def add_bytes(role: str, url: str, bytes_in: int, bytes_out: int) -> None:
    _update(role, url, bytes_in=F("bytes_in") + bytes_in, bytes_out=F("bytes_out") + bytes_out)


def blob_received(role: str, url: str, size: int) -> None:
    _update(
        role, url, last_contact=_now(), blobs_in=F("blobs_in") + 1, bytes_in=F("bytes_in") + size
    )


def pending(role: str, url: str, pending_in: int, pending_out: int) -> None:
    _update(role, url, last_contact=_now(), pending_in=pending_in, pending_out=pending_out)


def reconciled(
    role: str,
    url: str,
    started: int,
    fetched: int,
    pushed: int,
    left_in: int,
    left_out: int,
) -> None:
    """A reconciliation ended: what came, what went, what is still owed.

    ``synced_until`` moves to the moment the round started only when nothing
    is left owed to the peer: every event stored here before then is there too.
    """
    fields: dict[str, object] = {
        "last_contact": _now(),
        "reconciled_at": _now(),
        "events_in": F("events_in") + fetched,
        "events_out": F("events_out") + pushed,
        "pending_in": max(0, left_in),
        "pending_out": max(0, left_out),
    }
    if left_out <= 0:
        fields["synced_until"] = started
    _update(role, url, **fields)
