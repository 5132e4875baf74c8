"""Bulk inserts, shaped for each backend.

SQLite runs ``executemany`` in-process (no round trips). PostgreSQL gets
``COPY … FROM STDIN``: measured here at 18 µs an event against 45 µs for one
``INSERT … SELECT FROM unnest(…)`` and 90 µs for pipelined ``executemany``.
Both run inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

EVENT_COLUMNS = (
    "id, pubkey, created_at, kind, address, current, deleted, private, expires_at, raw, received_at"
)


def in_list(vendor: str, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """``column IN (…)`` as SQL and parameters: one array parameter on
    PostgreSQL (a query with thousands of placeholders costs more to build than
    to run), placeholders on SQLite (callers keep lists to at most 500)."""
    if vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({','.join(['%s'] * len(values))})", list(values)


def insert_events(cursor: Any, vendor: str, rows: Sequence[Sequence[Any]]) -> dict[str, int]:
    """Insert event rows (in EVENT_COLUMNS order); return {event id: seq}."""
    ids = [row[0] for row in rows]
    if vendor == "postgresql":
        with cursor.cursor.copy(f"COPY minga_event ({EVENT_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute("SELECT id, seq FROM minga_event WHERE id = ANY(%s)", [ids])
        return dict(cursor.fetchall())
    cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = 'minga_event'")
    row = cursor.fetchone()
    before = int(row[0]) if row else 0
    cursor.executemany(
        f"INSERT INTO minga_event ({EVENT_COLUMNS}) VALUES ({', '.join(['%s'] * 11)})", rows
    )
    # AUTOINCREMENT gives each new row a seq above every earlier one, and this
    # transaction is the only writer: if the last row got before + n, the n rows
    # got before + 1 … before + n in order, and no query per row is needed.
    cursor.execute("SELECT seq FROM minga_event WHERE id = %s", [ids[-1]])
    if cursor.fetchone()[0] == before + len(ids):
        return {event_id: before + 1 + n for n, event_id in enumerate(ids)}
    seqs: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        where, params = in_list(vendor, "id", ids[start : start + 500])
        cursor.execute(f"SELECT id, seq FROM minga_event WHERE {where}", params)
        seqs.update(cursor.fetchall())
    return seqs


def insert_tags(cursor: Any, vendor: str, rows: Sequence[tuple[int, str, str, int]]) -> None:
    if not rows:
        return
    if vendor == "postgresql":
        with cursor.cursor.copy(
            "COPY minga_tag (event_id, name, value, created_at) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        return
    cursor.executemany(
        "INSERT INTO minga_tag (event_id, name, value, created_at) VALUES (%s, %s, %s, %s)", rows
    )
