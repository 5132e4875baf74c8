"""Following the outlet's publications that arrive from elsewhere.

On the node where the desk publishes, :func:`minga.newsroom.workflow.publish`
signs the outlet's repost and releases the dispatch from the embargo in one
transaction. Other nodes receive the repost (and the dispatch, and its media
records) by replication, in any order; this follower applies the same
release when the pieces are there, and the withdrawal when the outlet's
deletion of its repost (a retraction) arrives. The events decide: a node
needs no desk state to serve what the outlet published.
"""

from __future__ import annotations

import json
import logging
import queue
import threading

from django.conf import settings
from django.db import connection

from minga.events.event import Event
from minga.events.kinds import DELETION, FILE_METADATA, GENERIC_REPOST, REPOST
from minga.store.models import Release
from minga.store.query import get
from minga.store.release import release, withdraw

log = logging.getLogger(__name__)
REPOSTS = (REPOST, GENERIC_REPOST)


def _outlet() -> str | None:
    from minga.newsroom.models import Outlet

    outlet = Outlet.current()
    return outlet.pubkey if outlet else None


def _reposts_naming(values: list[str], outlet: str) -> list[Event]:
    """The outlet's reposts whose ``e`` or ``a`` tag names one of ``values``."""
    if not values:
        return []
    marks = ",".join(["%s"] * len(values))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT e.id FROM minga_tag t JOIN minga_event e ON e.seq = t.event_id"
            f" WHERE t.name IN ('e', 'a') AND t.value IN ({marks})"
            " AND e.pubkey = %s AND e.kind IN (%s, %s) AND NOT e.deleted",
            [*values, outlet, *REPOSTS],
        )
        ids = [row[0] for row in cursor.fetchall()]
    return [e for e in (get(i) for i in ids) if e is not None]


def apply_repost(repost: Event) -> bool:
    """Release what ``repost`` published, if its dispatch is here; True if done."""
    from minga.newsroom.workflow import media_ids

    target_id = repost.first_tag_value("e")
    address = repost.first_tag_value("a")
    target = get(target_id) if target_id else None
    if target is None:
        return False  # it comes later: released when it arrives
    key = address or target.id
    if Release.objects.filter(key=key).exists():
        since = Release.objects.get(key=key).since
        if since <= target.created_at:
            release(media_ids(target))  # media records may have come later
            return True
    release([key, *media_ids(target)], since=target.created_at)
    return True


def _any_state(event_id: str) -> Event | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT raw FROM minga_event WHERE id = %s", [event_id])
        row = cursor.fetchone()
    if row is None:
        return None
    d = json.loads(row[0])
    return Event(
        d["id"], d["pubkey"], d["created_at"], d["kind"], d["tags"], d["content"], d["sig"]
    )


def apply_deletion(deletion: Event, outlet: str) -> None:
    """The outlet deleted its repost: withdraw what it had published."""
    from minga.newsroom.workflow import media_ids

    for repost_id in deletion.tag_values("e"):
        repost = _any_state(repost_id)  # the deletion has hidden it already
        if repost is None or repost.pubkey != outlet or repost.kind not in REPOSTS:
            continue
        address = repost.first_tag_value("a")
        target_id = repost.first_tag_value("e")
        target = get(target_id) if target_id else None
        keys = [address or target_id or ""]
        if target is not None:
            keys += media_ids(target)
        withdraw([k for k in keys if k])


def follow(events: list[Event]) -> None:
    outlet = _outlet()
    if outlet is None:
        return
    embargo = settings.MINGA.embargo_kinds
    for event in events:
        if event.pubkey == outlet and event.kind in REPOSTS:
            apply_repost(event)
        elif event.pubkey == outlet and event.kind == DELETION:
            apply_deletion(event, outlet)
        elif event.kind in embargo and event.kind != FILE_METADATA:
            names = [event.id] + ([event.address] if event.address else [])
            for repost in _reposts_naming(names, outlet):
                apply_repost(repost)
        elif event.kind == FILE_METADATA:
            # A media record after its dispatch: released with it if the
            # author's dispatch that shows it is released.
            _release_media(event)


def _release_media(record: Event) -> None:
    from minga.newsroom.workflow import media_ids

    for rel in Release.objects.filter(key__contains=f":{record.pubkey}:"):
        from minga.store.query import latest

        dispatch = latest(rel.key)
        if dispatch is not None and record.id in media_ids(dispatch):
            release([record.id])
            return


class ReleaseFollower:
    """Runs :func:`follow` on a thread of its own, off the committing thread."""

    def __init__(self) -> None:
        self.queue: queue.Queue[list[Event] | None] = queue.Queue()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="release-follower", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.queue.put(None)
        if self.thread is not None:
            self.thread.join(timeout=30)

    def on_stored(self, events: list[Event]) -> None:
        embargo = settings.MINGA.embargo_kinds
        relevant = [
            e for e in events if e.kind in REPOSTS or e.kind == DELETION or e.kind in embargo
        ]
        if relevant:
            self.queue.put(relevant)

    def _run(self) -> None:
        try:
            while True:
                events = self.queue.get()
                if events is None:
                    return
                try:
                    follow(events)
                except Exception:
                    log.exception("could not follow the outlet's publications")
        finally:
            connection.close()
