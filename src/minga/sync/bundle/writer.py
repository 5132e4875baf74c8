"""Writing a bundle: events then blobs, cut into parts of a chosen size.

Memory stays flat whatever the bundle holds: events go out a record at a
time, blobs a chunk at a time from their files. The number of parts is known
only at the end, so parts are written under temporary names and get their
count (in the header and the file name) when the writer closes.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from minga.exceptions import InvalidInput
from minga.sync.bundle import format as fmt


@dataclass(frozen=True)
class BlobInfo:
    sha256: str
    size: int
    type: str
    private: bool
    owners: tuple[str, ...]
    ref: str  # the first selected event that names the blob

    def meta(self) -> bytes:
        body = {"type": self.type, "private": self.private, "owners": list(self.owners)}
        return json.dumps({**body, "ref": self.ref}, separators=(",", ":")).encode()


class _Part:
    def __init__(self, path: Path, header: bytes) -> None:
        self.path = path
        self.handle: BinaryIO = path.open("wb")
        self.handle.write(header)
        self.size = len(header)
        self.records = 0
        self.events_raw = 0
        self.region = hashlib.sha256()

    def write(self, record: bytes) -> None:
        self.handle.write(record)
        self.region.update(record)
        self.size += len(record)
        self.records += 1

    def finish(self) -> None:
        end = fmt.END_BODY.pack(self.records, self.region.digest())
        self.handle.write(fmt.pack_record(fmt.END, end))
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()


class BundleWriter:
    """``add_event`` and ``add_blob``, then ``close`` for the part files."""

    def __init__(self, output: Path, part_size: int | None = None) -> None:
        if part_size is not None and part_size < fmt.MIN_PART_SIZE:
            raise InvalidInput(f"a part is at least {fmt.MIN_PART_SIZE} bytes")
        self.output = output
        self.part_size = part_size
        self.bundle_id = os.urandom(16)
        self.created_at = int(time.time())
        self.parts: list[_Part] = []
        self._lines: list[bytes] = []
        self._pending = 0
        self.events = 0
        self.blobs = 0
        self.blob_bytes = 0

    # -- parts -----------------------------------------------------------------

    def _room(self) -> int:
        """Bytes a record may still take in the current part (0: start a new one)."""
        if not self.parts:
            return 0
        if self.part_size is None:
            return fmt.MAX_RECORD + fmt.RECORD_OVERHEAD
        return max(0, self.part_size - self.parts[-1].size - fmt.END_SIZE)

    def _new_part(self) -> _Part:
        if self.parts:
            self.parts[-1].finish()
        index = len(self.parts) + 1
        path = self.output.with_name(f"{self.output.name}.part{index}.tmp")
        header = fmt.pack_header(self.bundle_id, index, index, self.created_at)
        part = _Part(path, header)
        self.parts.append(part)
        return part

    def _write(self, record: bytes, events_raw: int = 0) -> None:
        part = self.parts[-1] if self.parts else None
        full = part is not None and (
            len(record) > self._room() or part.events_raw + events_raw > fmt.MAX_PART_EVENTS_RAW
        )
        if part is None or (part.records and full):
            part = self._new_part()
        part.write(record)
        part.events_raw += events_raw

    # -- events ----------------------------------------------------------------

    def add_event(self, raw: str) -> None:
        """Add one stored event (its JSON text, exactly as stored)."""
        line = raw.encode("utf-8")
        if b"\n" in line:
            raise InvalidInput("an event's stored JSON holds a raw newline")
        target = fmt.EVENTS_TARGET
        if self.part_size is not None:
            target = min(target, (self.part_size - fmt.HEADER_SIZE - fmt.END_SIZE) // 2)
        if self._lines and (
            self._pending + len(line) + 1 > target or len(self._lines) >= fmt.MAX_EVENTS_PER_RECORD
        ):
            self._flush_events()
        self._lines.append(line)
        self._pending += len(line) + 1
        self.events += 1

    def _flush_events(self) -> None:
        if not self._lines:
            return
        raw = b"\n".join(self._lines)
        if len(raw) > fmt.MAX_EVENTS_RAW:
            raise InvalidInput("an event is too large for a bundle record")
        payload = fmt.EVENTS_HEAD.pack(len(raw), len(self._lines)) + zlib.compress(raw, 6)
        self._write(fmt.pack_record(fmt.EVENTS, payload), len(raw))
        self._lines, self._pending = [], 0

    # -- blobs -----------------------------------------------------------------

    def add_blob(self, info: BlobInfo, source: BinaryIO) -> None:
        """Stream a blob from ``source`` in chunks that fit the parts."""
        self._flush_events()
        meta = info.meta()
        head = fmt.RECORD_OVERHEAD + fmt.BLOB_HEAD.size + len(meta)
        offset = 0
        while offset < info.size or offset == 0:
            room = self._room() - head
            if room < min(64 << 10, info.size - offset):
                self._new_part()
                room = self._room() - head
            chunk = source.read(min(fmt.BLOB_CHUNK, room, info.size - offset))
            if len(chunk) < min(fmt.BLOB_CHUNK, room, info.size - offset):
                raise InvalidInput(f"blob {info.sha256} is shorter than its record says")
            body = fmt.BLOB_HEAD.pack(bytes.fromhex(info.sha256), info.size, offset, len(meta))
            self._write(fmt.pack_record(fmt.BLOB, body + meta + chunk))
            offset += len(chunk)
            if info.size == 0:
                break
        self.blobs += 1
        self.blob_bytes += info.size

    # -- the end ---------------------------------------------------------------

    def close(self) -> list[Path]:
        """Finish every part; return their final paths, in order."""
        self._flush_events()
        if not self.parts:
            self._new_part()
        self.parts[-1].finish()
        count = len(self.parts)
        final: list[Path] = []
        for index, part in enumerate(self.parts, 1):
            with part.path.open("r+b") as handle:
                handle.write(fmt.pack_header(self.bundle_id, index, count, self.created_at))
                handle.flush()
                os.fsync(handle.fileno())
            if count == 1 and self.part_size is None:
                target = self.output
            else:
                target = self.output.with_name(fmt.part_name(self._stem(), index, count))
            os.replace(part.path, target)
            final.append(target)
        return final

    def abort(self) -> None:
        for part in self.parts:
            if not part.handle.closed:
                part.handle.close()
            part.path.unlink(missing_ok=True)

    def _stem(self) -> str:
        name = self.output.name
        return name[: -len(fmt.SUFFIX)] if name.endswith(fmt.SUFFIX) else name
