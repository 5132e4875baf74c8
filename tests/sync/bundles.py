"""Helpers for the bundle tests: content in the test store, bundles made by hand."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from django.conf import settings
from django.db import connection

from minga.blobs import service as blob_service
from minga.blobs.storage import BlobStore
from minga.events import Event, SecretKey, sign_event
from minga.store.ingest import ingest
from minga.sync.bundle.writer import BlobInfo, BundleWriter


def blob_store() -> BlobStore:
    return BlobStore(settings.MINGA.data_path / "blobs")


def put_blob(data: bytes, owner: str, mime: str = "image/jpeg") -> str:
    sha, _new = blob_store().put(data)
    blob_service.record(sha, len(data), mime, owner)
    return sha


def media_event(key: SecretKey, sha: str, size: int, text: str = "foto") -> Event:
    """A note with an imeta entry, as the reporter app files a photo."""
    url = f"http://127.0.0.1/{sha}.jpg"
    imeta = ["imeta", f"url {url}", "m image/jpeg", f"x {sha}", f"size {size}"]
    return sign_event(key, 1, text, [imeta, ["t", "paro"]])


def fill(reporter: SecretKey, notes: int = 30, blob_sizes: tuple[int, ...] = (1000,)) -> dict:
    """Notes and photos by ``reporter`` in the test store; returns what was stored."""
    tag = os.urandom(4).hex()
    events = [sign_event(reporter, 1, f"nota {n} {tag}", [["t", "paro"]]) for n in range(notes)]
    blobs = {}
    for n, size in enumerate(blob_sizes):
        data = os.urandom(size)
        sha = put_blob(data, reporter.pubkey)
        blobs[sha] = data
        events.append(media_event(reporter, sha, size, f"foto {n}"))
    outcomes = ingest(events)
    assert all(o.ok for o in outcomes)
    return {"events": events, "blobs": blobs}


def event_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM minga_event")
        return int(cursor.fetchone()[0])


def blob_files() -> set[str]:
    root = blob_store().root
    return {p.name for p in root.glob("??/??/*")}


def blob_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM minga_blob")
        return int(cursor.fetchone()[0])


def snapshot() -> tuple[int, set[str], int, list[str]]:
    """What an import may change: events, blob files and rows, temporary files."""
    tmp = sorted(p.name for p in blob_store().tmp.iterdir())
    return event_count(), blob_files(), blob_rows(), tmp


def write_bundle(
    out: Path,
    events: list[Event],
    blobs: dict[str, tuple[bytes, str]] | None = None,
    part_size: int | None = None,
) -> list[Path]:
    """A bundle by hand: ``blobs`` maps sha256 → (bytes, id of the event naming it)."""
    writer = BundleWriter(out, part_size)
    for event in events:
        writer.add_event(event.to_json())
    for sha, (data, ref) in (blobs or {}).items():
        info = BlobInfo(sha, len(data), "image/jpeg", False, (), ref)
        import io

        writer.add_blob(info, io.BytesIO(data))
    return writer.close()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
