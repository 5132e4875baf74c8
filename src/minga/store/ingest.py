"""Batch ingest: verify, then store a batch of events in one transaction.

A batch is all or nothing: either every accepted event of the batch is in the
store with its tags, its version state and its deletion state, or none is (a
crash in the middle leaves the store as it was before the batch).

Per event the outcome follows NIP-01's OK message: accepted, ``duplicate:``,
or refused with ``invalid:``. Replaceable and addressable events keep every
version; the latest one (NIP-01 ordering) is marked ``current``. NIP-09
deletion requests hide the events they name from the same author, whichever
arrives first; the rows stay.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction

from minga.events.event import Event, newer
from minga.events.kinds import DELETION, is_ephemeral
from minga.events.parallel import Pending, verify_async
from minga.exceptions import StoreError
from minga.store.bulk import in_list, insert_events, insert_tags
from minga.store.visibility import Visibility

log = logging.getLogger(__name__)

_CHUNK = 500  # values per IN (...) list: far below every backend's limit
_RETRIES = 5


@dataclass(frozen=True, slots=True)
class Outcome:
    event_id: str
    ok: bool
    message: str = ""
    stored: bool = False  # newly written by this call

    @property
    def duplicate(self) -> bool:
        return self.ok and self.message.startswith("duplicate:")


# Called with the newly stored events and the ids of those stored private.
StoredListener = Callable[[list[Event], frozenset[str]], None]
_listeners: list[StoredListener] = []


def add_listener(listener: StoredListener) -> None:
    """Call ``listener`` with the newly stored events after each commit."""
    _listeners.append(listener)


def remove_listener(listener: StoredListener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    step = 100_000 if connection.vendor == "postgresql" else _CHUNK
    for i in range(0, len(values), step):
        yield values[i : i + step]


def _in(column: str, values: Sequence[str]) -> tuple[str, list[object]]:
    return in_list(connection.vendor, column, values)


class Pipeline:
    """Streamed ingest: add events one by one, get outcomes batch by batch.

    While the caller parses the next batch, the batch before it is verified
    by the worker processes of :mod:`minga.events.parallel`. With
    ``threaded=True`` (bulk imports) writing happens on a thread of its own,
    so SQLite's work and the commit's fsync overlap with parsing too; that
    thread has its own database connection, so use it outside any open
    transaction. Outcomes come back in input order.
    """

    def __init__(
        self,
        *,
        visibility: Visibility | None = None,
        verified: bool = False,
        batch_size: int = 1000,
        threaded: bool = False,
    ) -> None:
        self.visibility = visibility or Visibility.from_settings()
        self.verified = verified
        self.batch_size = batch_size
        self._batch: list[Event] = []
        self._in_flight: tuple[list[Event], Pending | None] | None = None
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="ingest") if threaded else None
        self._writes: deque[Future[list[Outcome]]] = deque()

    def add(self, event: Event) -> list[Outcome]:
        self._batch.append(event)
        if len(self._batch) >= self.batch_size:
            return self._rotate()
        return []

    def flush(self) -> list[Outcome]:
        outcomes = self._rotate() if self._batch else []
        if self._writer is None:
            outcomes += self._drain()
            return outcomes
        while self._writes:
            outcomes += self._writes.popleft().result()
        self._writer.submit(_close_connection).result()
        self._writer.shutdown(wait=True)
        return outcomes

    def _store(self, batch: list[Event], pending: Pending | None) -> list[Outcome]:
        valid = [True] * len(batch) if pending is None else pending.result()
        return store_verified(batch, valid, self.visibility)

    def _rotate(self) -> list[Outcome]:
        batch, self._batch = self._batch, []
        pending = None if self.verified else verify_async(batch)
        if self._writer is not None:
            self._writes.append(self._writer.submit(self._store, batch, pending))
            outcomes: list[Outcome] = []
            while self._writes and (self._writes[0].done() or len(self._writes) > 2):
                outcomes += self._writes.popleft().result()
            return outcomes
        outcomes = self._drain()
        self._in_flight = (batch, pending)
        return outcomes

    def _drain(self) -> list[Outcome]:
        if self._in_flight is None:
            return []
        batch, pending = self._in_flight
        self._in_flight = None
        return self._store(batch, pending)


def _close_connection() -> None:
    connection.close()  # the proxy resolves to this thread's connection


def ingest(
    events: Sequence[Event],
    *,
    visibility: Visibility | None = None,
    verified: bool = False,
    batch_size: int = 1000,
) -> list[Outcome]:
    """Store ``events``; return one outcome per input event, in order.

    Signatures are checked unless ``verified`` (events the caller already
    verified). Ids must already match contents: build events with
    :func:`minga.events.validate.parse_event`.
    """
    pipeline = Pipeline(visibility=visibility, verified=verified, batch_size=batch_size)
    outcomes: list[Outcome] = []
    for event in events:
        outcomes += pipeline.add(event)
    outcomes += pipeline.flush()
    return outcomes


def store_verified(
    events: Sequence[Event], valid: Sequence[bool], visibility: Visibility
) -> list[Outcome]:
    """Store one batch whose signatures were checked (``valid[i]`` per event)."""
    result: list[Outcome | None] = [None] * len(events)
    keep: list[int] = []
    for i, (event, good) in enumerate(zip(events, valid, strict=True)):
        if not good:
            result[i] = Outcome(event.id, False, "invalid: signature is not valid")
        elif is_ephemeral(event.kind):
            result[i] = Outcome(event.id, True, "")
        else:
            keep.append(i)
    if keep:
        stored = _store_with_retry([events[i] for i in keep], visibility)
        for i, outcome in zip(keep, stored, strict=True):
            result[i] = outcome
    return [o for o in result if o is not None]


def _store_with_retry(events: list[Event], visibility: Visibility) -> list[Outcome]:
    for attempt in range(_RETRIES):
        try:
            with transaction.atomic():
                outcomes, stored, private = _store_batch(events, visibility)
                if stored:
                    # After the outermost commit: never announce what may roll back.
                    transaction.on_commit(partial(_notify, stored, private))
        except IntegrityError:
            # Another writer stored one of these ids, or a newer version, first
            # (PostgreSQL); the retry sees its committed rows.
            log.info("ingest: concurrent writer, retry %d", attempt + 1)
            continue
        except OperationalError as exc:
            if "locked" in str(exc) and attempt + 1 < _RETRIES:
                time.sleep(0.05 * (attempt + 1))
                continue
            raise StoreError(f"the store could not write: {exc}") from exc
        return outcomes
    raise StoreError("the store could not write this batch (too many concurrent writers)")


def _notify(stored: list[Event], private: frozenset[str]) -> None:
    for listener in list(_listeners):
        try:
            listener(stored, private)
        except Exception:  # a listener must not undo a commit
            log.exception("store listener failed")


def _store_batch(
    events: list[Event], visibility: Visibility
) -> tuple[list[Outcome], list[Event], frozenset[str]]:
    cursor = connection.cursor()
    now = int(time.time())

    # 1. Duplicates, in the store and within the batch.
    ids = list(dict.fromkeys(e.id for e in events))
    existing: set[str] = set()
    for part in _chunks(ids):
        where, params = _in("id", part)
        cursor.execute(f"SELECT id FROM minga_event WHERE {where}", params)
        existing.update(row[0] for row in cursor.fetchall())
    fresh: list[Event] = []
    seen: set[str] = set()
    for e in events:
        if e.id not in existing and e.id not in seen:
            seen.add(e.id)
            fresh.append(e)

    # 2. Versions: compare each address's current head with this batch.
    address_of = {e.id: e.address for e in fresh}
    heads: dict[str, tuple[int, Event | None, int, str]] = {}
    addresses = list(dict.fromkeys(a for a in address_of.values() if a is not None))
    for part in _chunks(addresses):
        where, params = _in("address", part)
        cursor.execute(
            f"SELECT address, seq, created_at, id FROM minga_event WHERE current AND {where}",
            params,
        )
        for address, seq, created_at, event_id in cursor.fetchall():
            heads[address] = (seq, None, created_at, event_id)
    winners: dict[str, Event] = {}
    for e in fresh:
        address = address_of[e.id]
        if address is None:
            continue
        best = winners.get(address)
        if best is None or newer(e, best):
            winners[address] = e
    demote: list[int] = []
    current_ids: set[str] = set()
    for address, candidate in winners.items():
        head = heads.get(address)
        if head is not None:
            seq, _, created_at, head_id = head
            if (candidate.created_at, head_id) > (created_at, candidate.id):
                demote.append(seq)
                current_ids.add(candidate.id)
        else:
            current_ids.add(candidate.id)

    # 3. Deletion requests already stored that name events of this batch.
    deleted_ids = _already_deleted(cursor, fresh)

    # 4. Embargoed kinds stay private until the outlet releases them.
    embargoed = _embargoed(cursor, fresh, address_of, visibility)

    # 5. Write: demote old heads first (one current version per address).
    for seq in demote:
        cursor.execute("UPDATE minga_event SET current = %s WHERE seq = %s", [False, seq])
    rows = [
        (
            e.id,
            e.pubkey,
            e.created_at,
            e.kind,
            address_of[e.id],
            address_of[e.id] is None or e.id in current_ids,
            e.id in deleted_ids,
            visibility.is_private(e) or e.id in embargoed,
            e.expiration,
            e.to_json(),
            now,
        )
        for e in fresh
    ]
    if rows:
        seqs = insert_events(cursor, connection.vendor, rows)
        insert_tags(
            cursor,
            connection.vendor,
            [
                (seqs[e.id], name, value, e.created_at)
                for e in fresh
                for name, value in e.indexed_tags()
            ],
        )
        _apply_deletions(cursor, [e for e in fresh if e.kind == DELETION])

    fresh_set = {e.id for e in fresh}
    outcomes = []
    for e in events:
        if e.id in fresh_set:
            fresh_set.discard(e.id)
            outcomes.append(Outcome(e.id, True, "", stored=True))
        else:
            outcomes.append(Outcome(e.id, True, "duplicate: already have this event"))
    private = frozenset(row[0] for row in rows if row[7])
    return outcomes, fresh, private


def _embargoed(
    cursor: Any, fresh: list[Event], address_of: dict[str, str | None], visibility: Visibility
) -> set[str]:
    """Ids of batch events of an embargoed kind whose address (or id) is not released."""
    held = {e.id: address_of[e.id] or e.id for e in fresh if e.kind in visibility.embargo_kinds}
    if not held:
        return set()
    released: dict[str, int] = {}
    keys = list(dict.fromkeys(held.values()))
    for part in _chunks(keys):
        where, params = _in("key", part)
        cursor.execute(f"SELECT key, since FROM minga_release WHERE {where}", params)
        released.update((row[0], int(row[1])) for row in cursor.fetchall())
    created = {e.id: e.created_at for e in fresh}
    return {
        event_id
        for event_id, key in held.items()
        if key not in released or created[event_id] < released[key]
    }


def _already_deleted(cursor: object, fresh: list[Event]) -> set[str]:
    """Ids of batch events that a stored kind-5 request from their author names."""
    deleted: set[str] = set()
    candidates = [e for e in fresh if e.kind != DELETION]
    if not candidates:
        return deleted
    by_id = {e.id: e for e in candidates}
    for part in _chunks(list(by_id)):
        where, params = _in("t.value", part)
        cursor.execute(  # type: ignore[attr-defined]
            "SELECT t.value, d.pubkey FROM minga_tag t JOIN minga_event d ON d.seq = t.event_id"
            f" WHERE t.name = 'e' AND {where} AND d.kind = %s",
            [*params, DELETION],
        )
        for target, deleter in cursor.fetchall():  # type: ignore[attr-defined]
            if by_id[target].pubkey == deleter:
                deleted.add(target)
    by_address: dict[str, list[Event]] = {}
    for e in candidates:
        if e.address is not None:
            by_address.setdefault(e.address, []).append(e)
    for part in _chunks(list(by_address)):
        where, params = _in("t.value", part)
        cursor.execute(  # type: ignore[attr-defined]
            "SELECT t.value, d.pubkey, d.created_at FROM minga_tag t"
            " JOIN minga_event d ON d.seq = t.event_id"
            f" WHERE t.name = 'a' AND {where} AND d.kind = %s",
            [*params, DELETION],
        )
        for address, deleter, deleted_at in cursor.fetchall():  # type: ignore[attr-defined]
            for e in by_address[address]:
                if e.pubkey == deleter and e.created_at <= deleted_at:
                    deleted.add(e.id)
    return deleted


def _apply_deletions(cursor: object, requests: list[Event]) -> None:
    """Mark what new kind-5 requests name as deleted (same author only, never a kind 5)."""
    for request in requests:
        targets = [v for v in request.tag_values("e") if len(v) == 64]
        for part in _chunks(targets):
            where, params = _in("id", part)
            cursor.execute(  # type: ignore[attr-defined]
                f"UPDATE minga_event SET deleted = %s WHERE {where} AND pubkey = %s AND kind <> %s",
                [True, *params, request.pubkey, DELETION],
            )
        for address in request.tag_values("a"):
            parts = address.split(":", 2)
            if len(parts) != 3 or parts[1] != request.pubkey:
                continue  # only the author's own addresses
            cursor.execute(  # type: ignore[attr-defined]
                "UPDATE minga_event SET deleted = %s"
                " WHERE address = %s AND pubkey = %s AND created_at <= %s AND kind <> %s",
                [True, address, request.pubkey, request.created_at, DELETION],
            )
