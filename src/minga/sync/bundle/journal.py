"""What an import remembers between runs: which parts of a bundle are in.

One small JSON file per bundle, ``<data_dir>/bundles/<bundle id>/journal.json``,
replaced atomically after each part commits. A part is all or nothing (one
transaction), so the part index is the whole resume point: after a crash or
``kill -9`` the next run skips the parts written here and redoes at most the
one that was under way (whose transaction never committed). Pieces of blobs
that span parts wait in ``chunks/`` beside the journal.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from minga.exceptions import InvalidBundle

# The most inflated event bytes one bundle may bring, over all its parts.
MAX_BUNDLE_EVENTS_RAW = 64 << 30


class Journal:
    def __init__(self, root: Path, bundle_id: str, count: int) -> None:
        self.folder = root / bundle_id
        self.path = self.folder / "journal.json"
        self.chunks = self.folder / "chunks"
        self.count = count
        self.done: set[int] = set()
        self.events_raw = 0
        if self.path.is_file():
            data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("count") != count:
                raise InvalidBundle(
                    f"these parts say the bundle has {count} parts; parts imported"
                    f" before said {data.get('count')}"
                )
            self.done = {int(i) for i in data.get("done", [])}
            self.events_raw = int(data.get("events_raw", 0))

    def prepare(self) -> None:
        self.chunks.mkdir(parents=True, exist_ok=True)
        for leftover in self.chunks.glob("*.tmp"):  # from a run that was killed
            leftover.unlink(missing_ok=True)

    def add_events_raw(self, size: int) -> None:
        if self.events_raw + size > MAX_BUNDLE_EVENTS_RAW:
            raise InvalidBundle("the bundle's events inflate past the limit for one bundle")

    def mark(self, index: int, events_raw: int) -> None:
        self.done.add(index)
        self.events_raw += events_raw
        self.save()

    def missing(self) -> list[int]:
        return [i for i in range(1, self.count + 1) if i not in self.done]

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        body = {"count": self.count, "done": sorted(self.done), "events_raw": self.events_raw}
        with tmp.open("w", encoding="utf-8") as handle:
            json.dump(body, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
