"""A node's negentropy items for a NIP-01 filter: (created_at, id) of matching rows.

Both ends of a reconciliation read their items here (the relay answering
NEG-OPEN, the peer client starting one), so they see the store the same way.
The filter's ``limit`` is ignored: a reconciliation is over the whole matching
set (narrow it with ``since``/``until``), and a limit would make two stores
that agree look different.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from django.db import connection

from minga.events.filters import DEFAULT_FILTER_LIMITS, FilterLimits, parse_filter
from minga.events.kinds import GIFT_WRAP
from minga.events.sql import EVENT_TABLE, TAG_TABLE, Scope, where_clause


def local_items(
    filter_dict: dict[str, Any],
    *,
    everything: bool,
    private: bool,
    recipients: Iterable[str] = (),
    max_items: int | None = None,
    limits: FilterLimits = DEFAULT_FILTER_LIMITS,
) -> list[tuple[int, bytes]]:
    """(created_at, 32-byte id) of the stored events matching ``filter_dict``.

    ``everything``: every stored row (superseded, deleted, private, gift wraps),
    as peer nodes replicate the whole store. Otherwise current, non-deleted
    events, private ones only when ``private``, and gift wraps (NIP-59) only
    those addressed (``p`` tag) to one of ``recipients``.
    ``max_items``: read at most one more than this, so the caller can tell a
    set that is too large without loading all of it.

    Raises :class:`~minga.exceptions.InvalidFilter` for a malformed filter.
    """
    f = parse_filter(filter_dict, limits)
    if f.impossible:
        return []
    scope = Scope(now=int(time.time()), private=private, everything=everything)
    where, params = where_clause(f, scope)
    if not everything:
        wanted = sorted(set(recipients))
        if wanted:
            marks = ",".join(["%s"] * len(wanted))
            where += (
                f" AND (e.kind <> %s OR e.seq IN (SELECT t.event_id FROM {TAG_TABLE} t"
                f" WHERE t.name = 'p' AND t.value IN ({marks})))"
            )
            params += [GIFT_WRAP, *wanted]
        else:
            where += " AND e.kind <> %s"
            params.append(GIFT_WRAP)
    sql = f"SELECT e.created_at, e.id FROM {EVENT_TABLE} e WHERE {where}"
    if max_items is not None:
        sql += " LIMIT %s"
        params.append(max_items + 1)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    fromhex = bytes.fromhex
    return [(created_at, fromhex(event_id)) for created_at, event_id in rows]
