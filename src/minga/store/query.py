"""Answer NIP-01 filters from the store (newest first, NIP-01 tie order)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from minga.events.event import Event
from minga.events.filters import Filter
from minga.events.sql import Scope, select_events


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    created_at: int
    kind: int
    raw: str

    def event(self) -> Event:
        d = json.loads(self.raw)
        return Event(
            d["id"], d["pubkey"], d["created_at"], d["kind"], d["tags"], d["content"], d["sig"]
        )


def query(
    filters: Iterable[Filter],
    *,
    private: bool = False,
    history: bool = False,
    everything: bool = False,
    default_limit: int | None = None,
    now: int | None = None,
) -> list[Row]:
    """Stored events matching any of ``filters``; each filter's ``limit`` applies to it.

    ``everything``: filters with ``ids`` also reach deleted and private rows, so
    a peer node can fetch exactly the events a reconciliation said it lacks.
    """
    scope = Scope(now=int(time.time()) if now is None else now, private=private, history=history)
    by_id = Scope(scope.now, private, history, everything=True) if everything else scope
    default = settings.MINGA.default_limit if default_limit is None else default_limit
    found: dict[str, Row] = {}
    with connection.cursor() as cursor:
        for f in filters:
            limit = default if f.limit is None else f.limit
            if limit <= 0 or f.impossible:
                continue
            f_scope = by_id if f.ids is not None else scope
            sql, params = select_events(f, f_scope, limit, "e.id, e.created_at, e.kind, e.raw")
            cursor.execute(sql, params)
            for event_id, created_at, kind, raw in cursor.fetchall():
                found.setdefault(event_id, Row(event_id, created_at, kind, raw))
    return sorted(found.values(), key=lambda r: (-r.created_at, r.id))


def get(event_id: str, *, private: bool = True) -> Event | None:
    rows = query([Filter(ids=frozenset([event_id]))], private=private)
    return rows[0].event() if rows else None


def versions(address: str) -> list[Event]:
    """Every stored version of a replaceable or addressable event, newest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT raw FROM minga_event WHERE address = %s ORDER BY created_at DESC, id ASC",
            [address],
        )
        return [Row("", 0, 0, raw).event() for (raw,) in cursor.fetchall()]


def count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM minga_event")
        (n,) = cursor.fetchone()
    return int(n)


def latest(address: str) -> Event | None:
    """The current version of a replaceable or addressable event, unless deleted."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT raw FROM minga_event WHERE address = %s AND current AND NOT deleted",
            [address],
        )
        row = cursor.fetchone()
    return Row("", 0, 0, row[0]).event() if row else None
