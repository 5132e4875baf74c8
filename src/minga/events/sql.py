"""Translate a NIP-01 filter into one indexed SQL query.

The query reads the store's two tables (see ``minga.store.models``):

* ``minga_event``: one row per stored event version, with the columns that
  filters need (``id``, ``pubkey``, ``kind``, ``created_at``), the flags that
  decide visibility (``current``, ``deleted``, ``private``, ``expires_at``) and
  the event's JSON in ``raw``;
* ``minga_tag``: one row per distinct single-letter tag (name, first value),
  with the event's ``created_at`` copied for ordered tag lookups.

The SQL uses ``%s`` placeholders (DB-API ``format`` style), works unchanged on
SQLite and PostgreSQL, and is plain text: no database library is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass

from minga.events.filters import Filter

EVENT_TABLE = "minga_event"
TAG_TABLE = "minga_tag"


@dataclass(frozen=True)
class Scope:
    """What the reader may see.

    ``private``: include events flagged private (authenticated members).
    ``history``: include superseded versions of replaceable events even without
    ``ids`` (the newsroom's version history).
    ``everything``: every stored row, superseded, deleted and private alike
    (the collective's peer nodes, which replicate the whole store); expired
    events stay out, as no node accepts them.
    """

    now: int
    private: bool = False
    history: bool = False
    everything: bool = False


def _placeholders(n: int) -> str:
    return ",".join(["%s"] * n)


def where_clause(f: Filter, scope: Scope, skip_tag: str | None = None) -> tuple[str, list[object]]:
    conds = ["(e.expires_at IS NULL OR e.expires_at > %s)"]
    params: list[object] = [scope.now]
    if not scope.everything:
        conds.append("NOT e.deleted")
        # Asking by id reaches any stored version; otherwise only the latest answers.
        if f.ids is None and not scope.history:
            conds.append("e.current")
        if not scope.private:
            conds.append("NOT e.private")
    if f.ids is not None:
        conds.append(f"e.id IN ({_placeholders(len(f.ids))})")
        params.extend(sorted(f.ids))
    if f.authors is not None:
        conds.append(f"e.pubkey IN ({_placeholders(len(f.authors))})")
        params.extend(sorted(f.authors))
    if f.kinds is not None:
        conds.append(f"e.kind IN ({_placeholders(len(f.kinds))})")
        params.extend(sorted(f.kinds))
    if f.since is not None:
        conds.append("e.created_at >= %s")
        params.append(f.since)
    if f.until is not None:
        conds.append("e.created_at <= %s")
        params.append(f.until)
    for name, values in sorted(f.tags.items()):
        if name == skip_tag:
            continue
        conds.append(
            f"e.seq IN (SELECT t.event_id FROM {TAG_TABLE} t"
            f" WHERE t.name = %s AND t.value IN ({_placeholders(len(values))}))"
        )
        params.append(name)
        params.extend(sorted(values))
    return " AND ".join(conds), params


def _driving_tag(f: Filter) -> str | None:
    """A tag condition to walk the tag index by, newest first, or None.

    Without ids or authors (which have better indexes), a filter on one tag
    value (``{"#t": ["paro"], "limit": 50}``) is answered by reading that
    value's index entries in ``created_at`` order and stopping at the limit,
    instead of collecting every event that carries the value and sorting them.
    """
    if f.ids is not None or f.authors is not None:
        return None
    single = sorted(name for name, values in f.tags.items() if len(values) == 1)
    return single[0] if single else None


def select_events(
    f: Filter, scope: Scope, limit: int, columns: str = "e.raw"
) -> tuple[str, list[object]]:
    """``SELECT <columns>`` of the events matching ``f``, newest first, at most ``limit``.

    Order follows NIP-01: ``created_at`` descending, ties by lowest id.
    """
    driver = _driving_tag(f)
    where, params = where_clause(f, scope, skip_tag=driver)
    if driver is None:
        sql = (
            f"SELECT {columns} FROM {EVENT_TABLE} e WHERE {where}"
            " ORDER BY e.created_at DESC, e.id ASC LIMIT %s"
        )
    else:
        (value,) = f.tags[driver]
        sql = (
            f"SELECT {columns} FROM {TAG_TABLE} d JOIN {EVENT_TABLE} e ON e.seq = d.event_id"
            f" WHERE d.name = %s AND d.value = %s AND {where}"
            " ORDER BY d.created_at DESC, e.id ASC LIMIT %s"
        )
        params = [driver, value, *params]
    params.append(limit)
    return sql, params
