"""Dropping superseded versions of derived events.

The store keeps every version of everything people sign. The one exception is
what the node derives and can always make again: the outlet's site manifest
(NIP-5A) lists every file of the site, is signed again after each publication
and can weigh megabytes. Its superseded versions are dropped beyond the newest
few; the current one is never touched.
"""

from __future__ import annotations

from django.db import connection, transaction


def prune_versions(address: str, keep: int) -> int:
    """Delete all but the newest ``keep`` versions of ``address``; returns how many."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq FROM minga_event WHERE address = %s AND NOT current"
            " ORDER BY created_at DESC, id ASC",
            [address],
        )
        old = [row[0] for row in cursor.fetchall()][max(0, keep - 1) :]
        for start in range(0, len(old), 500):
            part = old[start : start + 500]
            marks = ",".join(["%s"] * len(part))
            cursor.execute(f"DELETE FROM minga_tag WHERE event_id IN ({marks})", part)
            cursor.execute(f"DELETE FROM minga_event WHERE seq IN ({marks})", part)
    return len(old)
