"""Choosing what goes into a bundle, and writing it.

Events: every stored row of ``minga_event`` (every version, deleted ones too:
the deletion requests travel with them), oldest first, as the exact JSON that
was stored — so that the other side checks the same ids and signatures. A
bundle is for the collective's other nodes, so private events (drafts,
coordination, the roster) go too unless ``public_only``.

Blobs: those the chosen events name (:func:`minga.sync.blobrefs.referenced`)
that this node holds, after all the events, so an import meets each blob's
event before the blob.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

from minga.blobs.models import Blob, BlobOwner
from minga.blobs.storage import BlobStore
from minga.events.event import Event
from minga.exceptions import NotFound
from minga.sync.blobrefs import referenced
from minga.sync.bundle.writer import BlobInfo, BundleWriter

_PAGE = 5000
_IN = 500


@dataclass(frozen=True)
class Selection:
    since: int | None = None  # received_at at or after (unix time)
    after: int | None = None  # received_at strictly after (a peer's synced_until)
    public_only: bool = False


@dataclass
class ExportReport:
    paths: list[Path] = field(default_factory=list)
    events: int = 0
    private_events: int = 0
    blobs: int = 0
    blob_bytes: int = 0
    blobs_missing: int = 0  # named by an event but not held here
    blobs_private_left: int = 0


def peer_selection(url: str, public_only: bool = False) -> Selection:
    """What the peer at ``url`` lacks: what this node stored after ``synced_until``."""
    from minga.sync.models import Link, Role

    url = url.rstrip("/")
    link = Link.objects.filter(role=Role.PEER, url=url).first()
    if link is None:
        known = ", ".join(Link.objects.filter(role=Role.PEER).values_list("url", flat=True))
        raise NotFound(f"no peer {url} is known here (peers: {known or 'none'})")
    return Selection(after=link.synced_until, public_only=public_only)


def _rows(selection: Selection) -> Iterator[tuple[str, bool]]:
    where = ["seq > %s"]
    params: list[object] = []
    if selection.since is not None:
        where.append("received_at >= %s")
        params.append(selection.since)
    if selection.after is not None:
        where.append("received_at > %s")
        params.append(selection.after)
    if selection.public_only:
        where.append("NOT private")
    sql = f"SELECT seq, raw, private FROM minga_event WHERE {' AND '.join(where)} ORDER BY seq LIMIT {_PAGE}"
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [last, *params])
            rows = cursor.fetchall()
        if not rows:
            return
        for seq, raw, private in rows:
            last = seq
            yield raw, bool(private)


def _blob_infos(
    named: dict[str, str], public_only: bool, report: ExportReport
) -> Iterator[BlobInfo]:
    shas = list(named)
    for start in range(0, len(shas), _IN):
        part = shas[start : start + _IN]
        blobs = {b.sha256: b for b in Blob.objects.filter(sha256__in=part)}
        owners: dict[str, list[str]] = {}
        for sha, pubkey in BlobOwner.objects.filter(blob_id__in=part).values_list(
            "blob_id", "pubkey"
        ):
            owners.setdefault(sha, []).append(pubkey)
        for sha in part:
            blob = blobs.get(sha)
            if blob is None:
                report.blobs_missing += 1
                continue
            if public_only and blob.private:
                report.blobs_private_left += 1
                continue
            yield BlobInfo(
                sha,
                blob.size,
                blob.type,
                blob.private,
                tuple(sorted(owners.get(sha, []))[:64]),
                named[sha],
            )


def export_bundle(
    output: Path,
    selection: Selection,
    store: BlobStore,
    part_size: int | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> ExportReport:
    tick = progress or (lambda what, n: None)
    report = ExportReport()
    writer = BundleWriter(output, part_size)
    named: dict[str, str] = {}  # blob sha256 -> the first chosen event naming it
    try:
        for raw, private in _rows(selection):
            writer.add_event(raw)
            report.events += 1
            report.private_events += private
            if '"x"' in raw or "imeta" in raw or '"url"' in raw or '"ox"' in raw:
                event = Event(**json.loads(raw))
                for ref in referenced(event):
                    named.setdefault(ref.sha256, event.id)
            tick("events", 1)
        for info in _blob_infos(named, selection.public_only, report):
            try:
                handle = store.path(info.sha256).open("rb")
            except FileNotFoundError:
                report.blobs_missing += 1
                continue
            with handle:
                if os.fstat(handle.fileno()).st_size != info.size:
                    report.blobs_missing += 1  # damaged here: the peer fetches it elsewhere
                    continue
                writer.add_blob(info, handle)
            report.blobs += 1
            report.blob_bytes += info.size
            tick("bytes", info.size)
        report.paths = writer.close()
    except BaseException:
        writer.abort()
        raise
    return report
