"""Importing bundle parts: in any order, verified, idempotent, resumable.

Each part is imported whole or not at all. Its events are stored in one
transaction while it is read; its blobs wait in temporary files. Only when
the last record has been read and the part's end record has matched (every
checksum, the sha256 of the records, no byte missing or added), every event's
id and signature has checked, and every blob's bytes have matched their hash,
are the blobs moved into the store and the transaction committed. Anything
wrong — a truncated part, a forged or oversized event, a decompression bomb, a
blob that is not what its name says — raises
:class:`~minga.exceptions.InvalidBundle`, the transaction rolls back and the
temporary files go: nothing of the part is kept.

Events the node's write policy refuses (a key off the roster, a revoked key)
are not stored and are reported; a blob is taken only when an event that names
it is in the store. A part with such refusals is not marked done, so importing
it again (after the roster changed, or with its events' part) retries them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from minga.blobs import service as blob_service
from minga.blobs.storage import BlobStore
from minga.events.event import Event
from minga.events.parallel import verify_many
from minga.events.validate import loads_json, parse_event
from minga.exceptions import InvalidBundle, MingaError
from minga.newsroom.policy import Policy
from minga.newsroom.roster import is_roster_event
from minga.store.ingest import store_verified
from minga.store.visibility import Visibility
from minga.sync.blobrefs import referenced
from minga.sync.bundle.journal import Journal
from minga.sync.bundle.reader import BlobChunk, EventLines, PartHeader, PartReader
from minga.sync.bundle.staging import Ready, Staging

Progress = Callable[[str, int], None]  # (what, how many more)


@dataclass
class Report:
    bundle_id: str = ""
    count: int = 0
    imported: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    stored: int = 0
    duplicate: int = 0
    refused: list[str] = field(default_factory=list)
    blobs_stored: int = 0
    present: set[str] = field(default_factory=set)
    blobs_held: list[str] = field(default_factory=list)
    blob_bytes: int = 0

    @property
    def blobs_present(self) -> int:
        return len(self.present)

    def lines(self) -> list[str]:
        out = [f"bundle {self.bundle_id}: {self.count} part(s)"]
        if self.imported:
            out.append(f"imported now: parts {_ranges(self.imported)}")
        if self.skipped:
            out.append(f"imported before (skipped): parts {_ranges(self.skipped)}")
        out.append(
            f"{self.stored} events stored, {self.duplicate} already here,"
            f" {len(self.refused)} refused by this node's policy"
        )
        out.append(
            f"{self.blobs_stored} blobs stored, {self.blobs_present} already here,"
            f" {len(self.blobs_held)} held back (no event here names them)"
        )
        if not self.imported and self.skipped:
            out.append("nothing new: these parts were imported before (--again checks them again)")
        out.append(
            f"still missing: parts {_ranges(self.missing)}"
            if self.missing
            else "the bundle is complete on this node"
        )
        return out


def _ranges(numbers: Sequence[int]) -> str:
    return ", ".join(str(n) for n in sorted(numbers))


@dataclass
class _Tally:
    stored: int = 0
    duplicate: int = 0
    refused: list[str] = field(default_factory=list)
    events_raw: int = 0
    blobs_stored: int = 0
    present: list[str] = field(default_factory=list)
    blobs_held: list[str] = field(default_factory=list)
    blob_bytes: int = 0


def build_policy(config: Any, any_author: bool = False) -> Policy:
    """The node's own write policy (roster, node key, peers), read from the store."""
    from minga.keys.models import CustodialKey, Purpose
    from minga.newsroom.models import Outlet

    outlet = Outlet.current()
    node = CustodialKey.objects.filter(purpose=Purpose.NODE).first()
    policy = Policy(
        outlet.pubkey if outlet else None,
        node.pubkey if node else None,
        open_writes=any_author or config.open_writes,
        peers=[key for _url, key in getattr(config, "peers", ())],
    )
    policy.refresh()
    return policy


def open_parts(paths: Sequence[Path], max_blob_bytes: int) -> list[PartReader]:
    """Read and cross-check the headers: one bundle, each part once."""
    if not paths:
        raise InvalidBundle("no bundle parts given")
    readers = [PartReader(Path(p), max_blob_bytes=max_blob_bytes) for p in paths]
    first = readers[0].header
    seen: dict[int, Path] = {}
    for reader in readers:
        header = reader.header
        if header.bundle_id != first.bundle_id:
            raise InvalidBundle(
                f"{reader.path.name} belongs to another bundle ({header.bundle_id},"
                f" not {first.bundle_id}): import one bundle at a time"
            )
        if header.count != first.count:
            raise InvalidBundle(
                f"{reader.path.name} says the bundle has {header.count} parts,"
                f" {readers[0].path.name} says {first.count}"
            )
        if header.index in seen:
            raise InvalidBundle(
                f"{reader.path.name} and {seen[header.index].name} are both"
                f" part {header.index}: give each part once"
            )
        seen[header.index] = reader.path
    return sorted(readers, key=lambda r: r.header.index)


class Importer:
    def __init__(
        self,
        config: Any,
        *,
        any_author: bool = False,
        again: bool = False,
        progress: Progress | None = None,
    ) -> None:
        from minga.node.runtime import limits_from

        self.config = config
        self.limits = limits_from(config)
        self.visibility = Visibility.from_settings()
        self.store = BlobStore(config.data_path / "blobs")
        self.root = config.data_path / "bundles"
        self.any_author = any_author
        self.again = again
        self.progress = progress or (lambda what, n: None)

    def run(self, paths: Sequence[Path]) -> Report:
        readers = open_parts(paths, self.config.max_blob_bytes)
        first = readers[0].header
        journal = Journal(self.root, first.bundle_id, first.count)
        journal.prepare()
        policy = build_policy(self.config, self.any_author)
        report = Report(first.bundle_id, first.count)
        for reader in readers:
            index = reader.header.index
            if index in journal.done and not self.again:
                report.skipped.append(index)
                continue
            tally = self._import_part(reader, journal, policy)
            report.imported.append(index)
            report.stored += tally.stored
            report.duplicate += tally.duplicate
            report.refused += tally.refused
            report.blobs_stored += tally.blobs_stored
            report.present.update(tally.present)
            report.blobs_held += tally.blobs_held
            report.blob_bytes += tally.blob_bytes
            if not tally.refused and not tally.blobs_held:
                journal.mark(index, tally.events_raw)
        report.missing = journal.missing()
        return report

    def _import_part(self, reader: PartReader, journal: Journal, policy: Policy) -> _Tally:
        staging = Staging(self.store, journal.chunks)
        tally = _Tally()
        try:
            with transaction.atomic():
                for record in reader.records():
                    if isinstance(record, EventLines):
                        staging.close_run()
                        tally.events_raw += record.raw_size
                        journal.add_events_raw(tally.events_raw)
                        self._events(reader.header, record, policy, tally)
                    elif isinstance(record, BlobChunk):
                        staging.add(record)
                        self.progress("bytes", len(record.data))
                staging.close_run()
                staging.join_spanning()
                # The part is whole and verified: now its blobs may enter.
                for ready in staging.ready.values():
                    self._blob(ready, staging, tally)
            staging.keep_pieces()
        finally:
            staging.discard()
        return tally

    def _events(
        self, header: PartHeader, record: EventLines, policy: Policy, tally: _Tally
    ) -> None:
        events: list[Event] = []
        for number, line in enumerate(record.lines, 1):
            try:
                events.append(
                    parse_event(
                        loads_json(line, self.limits.max_json_bytes), self.limits, verify=False
                    )
                )
            except MingaError as exc:
                raise InvalidBundle(
                    f"{header.label()}: event {number} of a record is refused ({exc.message});"
                    " nothing of this"
                    " part was stored"
                ) from exc
        for event, valid in zip(events, verify_many(events), strict=True):
            if not valid:
                raise InvalidBundle(
                    f"{header.label()}: event {event.id} has a forged signature;"
                    " nothing of this part was stored"
                )
        # Rosters first: the members they name may publish the rest of the record.
        outlet = policy.outlet or ""
        rosters = [e for e in events if is_roster_event(e, outlet)]
        if rosters:
            self._store(rosters, policy, tally)
        self._store([e for e in events if not is_roster_event(e, outlet)], policy, tally)
        self.progress("events", len(events))

    def _store(self, events: list[Event], policy: Policy, tally: _Tally) -> None:
        accepted = []
        for event in events:
            refusal = policy.write_refusal(event)
            if refusal is None:
                accepted.append(event)
            else:
                tally.refused.append(f"{event.id}: {refusal}")
        outcomes = store_verified(accepted, [True] * len(accepted), self.visibility)
        stored = [e for e, o in zip(accepted, outcomes, strict=True) if o.stored]
        tally.stored += len(stored)
        tally.duplicate += len(accepted) - len(stored)
        policy.on_stored(stored)  # reads the roster again (in this transaction) if it came

    def _blob(self, ready: Ready, staging: Staging, tally: _Tally) -> None:
        if not _named_by_stored_event(ready.meta.ref, ready.sha256):
            tally.blobs_held.append(ready.sha256)
            return
        new = staging.place(ready)
        staging.forget_pieces(ready.sha256)
        if new:
            tally.blobs_stored += 1
            tally.blob_bytes += ready.size
        else:
            tally.present.append(ready.sha256)
        owners = ready.meta.owners or (_author(ready.meta.ref),)
        for owner in owners:
            blob_service.record(
                ready.sha256, ready.size, ready.meta.type, owner, ready.meta.private
            )


def _stored_event(event_id: str) -> Event | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT raw FROM minga_event WHERE id = %s", [event_id])
        row = cursor.fetchone()
    if row is None:
        return None
    return Event(**json.loads(row[0]))


def _named_by_stored_event(event_id: str, sha256: str) -> bool:
    event = _stored_event(event_id)
    return event is not None and any(ref.sha256 == sha256 for ref in referenced(event))


def _author(event_id: str) -> str:
    event = _stored_event(event_id)
    assert event is not None  # checked by _named_by_stored_event
    return event.pubkey
