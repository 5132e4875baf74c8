"""Blob bytes from a bundle part, held aside until the part is known whole.

A *run* is a stretch of consecutive records of one blob in one part. A run
that covers its blob entirely is hashed as it is written and checked at once.
A run that covers only a piece (the blob spans parts) becomes a chunk file
``<sha>-<size>-<start>-<end>`` in the bundle's ``chunks/`` folder once its part
commits; when the pieces tile the blob, they are joined and the whole is
hashed. Nothing enters the blob store before its sha256 matches its name.

Temporary files live in the blob store's ``tmp/`` with the ``up-`` prefix, so
the node's start-up clean-up removes any a crash leaves behind.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from minga.blobs.storage import BlobStore, fsync_dir
from minga.exceptions import InvalidBundle
from minga.sync.bundle.reader import BlobChunk, BlobMeta

_COPY = 1 << 20


@dataclass
class Ready:
    """A verified blob (bytes in ``tmp``, or already in the store when ``tmp`` is None)."""

    sha256: str
    size: int
    meta: BlobMeta
    tmp: Path | None


@dataclass
class _Run:
    sha256: str
    size: int
    start: int
    meta: BlobMeta
    end: int
    tmp: Path | None
    handle: BinaryIO | None
    hasher: hashlib._Hash = field(default_factory=hashlib.sha256)


class Staging:
    """The blob side of importing one part."""

    def __init__(self, store: BlobStore, chunks: Path) -> None:
        self.store = store
        self.chunks = chunks
        self.ready: dict[str, Ready] = {}
        self._pieces: list[tuple[Path, str]] = []  # this part's pieces: tmp file, chunk name
        self._spanning: dict[tuple[str, int], BlobMeta] = {}
        self._run: _Run | None = None
        self._temps: list[Path] = []
        self.placed: set[str] = set()  # in the store now

    def _temp(self) -> tuple[Path, BinaryIO]:
        fd, name = tempfile.mkstemp(dir=self.store.tmp, prefix="up-bundle-")
        self._temps.append(Path(name))
        return Path(name), os.fdopen(fd, "wb")

    def add(self, chunk: BlobChunk) -> None:
        run = self._run
        if not (
            run is not None
            and run.sha256 == chunk.sha256
            and run.size == chunk.size
            and run.end == chunk.offset
        ):
            self.close_run()
            held = self.store.exists(chunk.sha256) or chunk.sha256 in self.ready
            tmp, handle = (None, None) if held else self._temp()
            run = self._run = _Run(
                chunk.sha256, chunk.size, chunk.offset, chunk.meta, chunk.offset, tmp, handle
            )
        if run.handle is not None:
            run.handle.write(chunk.data)
            run.hasher.update(chunk.data)
        run.end += len(chunk.data)

    def close_run(self) -> None:
        run, self._run = self._run, None
        if run is None:
            return
        if run.handle is not None:
            run.handle.flush()
            os.fsync(run.handle.fileno())
            run.handle.close()
        if run.tmp is None:  # the store (or this part) has it already
            self.ready.setdefault(run.sha256, Ready(run.sha256, run.size, run.meta, None))
        elif run.start == 0 and run.end == run.size:
            if run.hasher.hexdigest() != run.sha256:
                raise InvalidBundle(f"blob {run.sha256}: its bytes do not match its sha256")
            self.ready[run.sha256] = Ready(run.sha256, run.size, run.meta, run.tmp)
        else:
            name = f"{run.sha256}-{run.size}-{run.start}-{run.end}"
            self._pieces.append((run.tmp, name))
            self._spanning[(run.sha256, run.size)] = run.meta

    def join_spanning(self) -> None:
        """Join the blobs whose pieces (earlier parts' and this one's) now tile them."""
        for (sha, size), meta in self._spanning.items():
            if sha in self.ready:
                continue
            pieces: dict[tuple[int, int], Path] = {}
            for path in self.chunks.glob(f"{sha}-{size}-*-*"):
                start, end = (int(n) for n in path.name.rsplit("-", 2)[1:])
                pieces[(start, end)] = path
            for tmp, name in self._pieces:
                if name.startswith(f"{sha}-{size}-"):
                    start, end = (int(n) for n in name.rsplit("-", 2)[1:])
                    pieces[(start, end)] = tmp
            chain: list[Path] = []
            position = 0
            for start, end in sorted(pieces):
                if start == position and end > start:
                    chain.append(pieces[(start, end)])
                    position = end
            if position != size:
                continue  # more parts to come
            self.ready[sha] = Ready(sha, size, meta, self._join(sha, chain))

    def _join(self, sha: str, paths: list[Path]) -> Path:
        tmp, out = self._temp()
        hasher = hashlib.sha256()
        with out:
            for path in paths:
                with path.open("rb") as source:
                    for block in iter(lambda: source.read(_COPY), b""):
                        out.write(block)
                        hasher.update(block)
            out.flush()
            os.fsync(out.fileno())
        if hasher.hexdigest() != sha:
            # Which piece is bad cannot be told: drop them all, so that good
            # copies of the parts that hold them can fill the blob again.
            self.forget_pieces(sha)
            raise InvalidBundle(
                f"blob {sha}: its pieces, joined, do not match its sha256 (they were dropped:"
                " import the parts that hold it again, from a good copy)"
            )
        return tmp

    def place(self, ready: Ready) -> bool:
        """Move a verified blob under its name; True when it is new in the store."""
        self.placed.add(ready.sha256)
        if ready.tmp is None:
            return False
        final = self.store.path(ready.sha256)
        if final.exists():
            ready.tmp.unlink(missing_ok=True)
            return False
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(ready.tmp, final)
        fsync_dir(final.parent)
        return True

    def keep_pieces(self) -> None:
        """After the part committed: its pieces of unfinished blobs wait in ``chunks/``."""
        for tmp, name in self._pieces:
            if name.split("-", 1)[0] in self.placed:
                continue
            os.replace(tmp, self.chunks / name)
        fsync_dir(self.chunks)

    def forget_pieces(self, sha: str) -> None:
        for path in self.chunks.glob(f"{sha}-*"):
            path.unlink(missing_ok=True)

    def discard(self) -> None:
        """Remove every temporary file of this part (refused, failed, or done)."""
        if self._run is not None and self._run.handle is not None:
            self._run.handle.close()
        self._run = None
        for path in self._temps:
            path.unlink(missing_ok=True)
