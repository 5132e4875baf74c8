"""A content-addressed blob folder with atomic, verified writes.

Layout: ``<root>/ab/cd/abcd…`` for a blob whose sha256 starts ``abcd``;
partial uploads live in ``<root>/tmp`` and only reach their final name with
``os.replace`` after their hash is known and their bytes are on disk, so a
crash never leaves a half-written blob under a real name.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

from minga.exceptions import Conflict, InvalidBlob, TooLarge

SHA256 = re.compile(r"[0-9a-f]{64}")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobWriter:
    """Receives a blob's bytes; :meth:`commit` puts it in place under its hash."""

    def __init__(self, store: BlobStore, max_bytes: int, expected: str | None) -> None:
        self._store = store
        self._max = max_bytes
        self._expected = expected
        self._hash = hashlib.sha256()
        self.size = 0
        fd, name = tempfile.mkstemp(dir=store.tmp, prefix="up-")
        self._tmp = Path(name)
        self._file: BinaryIO = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self._max:
            self.abort()
            raise TooLarge(f"blob is larger than {self._max} bytes")
        self._hash.update(chunk)
        self._file.write(chunk)

    def commit(self) -> tuple[str, bool]:
        """Returns (sha256, newly stored)."""
        sha = self._hash.hexdigest()
        if self._expected is not None and sha != self._expected:
            self.abort()
            raise Conflict("the body's sha256 does not match X-SHA-256")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        final = self._store.path(sha)
        if final.exists():
            self._tmp.unlink(missing_ok=True)
            return sha, False
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._tmp, final)
        fsync_dir(final.parent)
        return sha, True

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self._tmp.unlink(missing_ok=True)


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if not SHA256.fullmatch(sha256):
            raise InvalidBlob("a blob is named by 64 lowercase hex characters")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def writer(self, max_bytes: int, expected: str | None = None) -> BlobWriter:
        return BlobWriter(self, max_bytes, expected)

    def put(self, data: bytes, max_bytes: int | None = None) -> tuple[str, bool]:
        w = self.writer(len(data) if max_bytes is None else max_bytes)
        w.write(data)
        return w.commit()

    def adopt(self, path: Path) -> tuple[str, bool]:
        """Move a finished file into the store under its hash; returns (sha256, new).

        ``path`` must be on the same file system as the store (uploads are).
        """
        h = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                h.update(chunk)
            os.fsync(handle.fileno())
        sha = h.hexdigest()
        final = self.path(sha)
        if final.exists():
            path.unlink(missing_ok=True)
            return sha, False
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, final)
        fsync_dir(final.parent)
        return sha, True

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def verify(self, sha256: str) -> bool:
        """Re-hash a stored blob (for audits and after a crash)."""
        h = hashlib.sha256()
        with self.path(sha256).open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest() == sha256

    def clean_tmp(self) -> int:
        """Remove partial uploads left by a crash; returns how many."""
        removed = 0
        for leftover in self.tmp.glob("up-*"):
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed
