"""Reading one bundle part, trusting nothing in it.

Every length is checked against the file and the limits of
:mod:`minga.sync.bundle.format` before anything is read or inflated, so a
hostile part costs at most one record of memory and a bounded amount of
inflation. Any flaw raises :class:`~minga.exceptions.InvalidBundle`: a reader
either yields the records of a whole, intact part, or raises — callers store
what they read only once :meth:`PartReader.records` has run to its end.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from minga.exceptions import InvalidBundle
from minga.sync.bundle import format as fmt

_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class PartHeader:
    bundle_id: str  # 32 hex characters
    index: int
    count: int
    created_at: int

    def label(self) -> str:
        return f"part {self.index} of {self.count}"


@dataclass(frozen=True)
class EventLines:
    """An EVENTS record: the JSON text of each event, still unchecked."""

    lines: list[bytes]
    raw_size: int


@dataclass(frozen=True)
class BlobMeta:
    type: str
    private: bool
    owners: tuple[str, ...]
    ref: str  # an event that names the blob


@dataclass(frozen=True)
class BlobChunk:
    sha256: str
    size: int
    offset: int
    meta: BlobMeta
    data: bytes


Record = EventLines | BlobChunk


def parse_header(data: bytes) -> PartHeader:
    if len(data) < fmt.HEADER_SIZE:
        raise InvalidBundle("not a minga bundle: the file is shorter than a part header")
    magic, version, _flags, index, count, bundle_id, created_at = fmt.HEADER.unpack_from(data)
    if magic != fmt.MAGIC:
        raise InvalidBundle("not a minga bundle (wrong magic bytes)")
    if version != fmt.VERSION:
        raise InvalidBundle(
            f"bundle format version {version} is not supported (this node reads {fmt.VERSION})"
        )
    (crc,) = fmt.RECORD_CRC.unpack_from(data, fmt.HEADER.size)
    if crc != fmt.crc32(data[: fmt.HEADER.size]):
        raise InvalidBundle("the part header is corrupt (checksum mismatch)")
    if not 1 <= index <= count:
        raise InvalidBundle(f"the header says part {index} of {count}")
    return PartHeader(bundle_id.hex(), index, count, created_at)


def parse_meta(data: bytes) -> BlobMeta:
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InvalidBundle("blob metadata is not JSON") from exc
    if not isinstance(obj, dict):
        raise InvalidBundle("blob metadata is not a JSON object")
    mime, private, owners, ref = (obj.get(k) for k in ("type", "private", "owners", "ref"))
    if not isinstance(mime, str) or len(mime) > 255:
        raise InvalidBundle("blob metadata: type must be a short string")
    if not isinstance(private, bool):
        raise InvalidBundle("blob metadata: private must be true or false")
    if (
        not isinstance(owners, list)
        or len(owners) > fmt.MAX_OWNERS
        or not all(isinstance(o, str) and _HEX64.fullmatch(o) for o in owners)
    ):
        raise InvalidBundle("blob metadata: owners must be a short list of hex public keys")
    if not isinstance(ref, str) or not _HEX64.fullmatch(ref):
        raise InvalidBundle("blob metadata: ref must be an event id")
    return BlobMeta(mime, private, tuple(owners), ref)


def parse_events(payload: bytes) -> EventLines:
    if len(payload) < fmt.EVENTS_HEAD.size:
        raise InvalidBundle("an events record is shorter than its header")
    raw_size, count = fmt.EVENTS_HEAD.unpack_from(payload)
    if raw_size > fmt.MAX_EVENTS_RAW:
        raise InvalidBundle(
            f"an events record inflates to {raw_size} bytes (at most {fmt.MAX_EVENTS_RAW})"
        )
    if not 1 <= count <= fmt.MAX_EVENTS_PER_RECORD:
        raise InvalidBundle(
            f"an events record holds {count} events (1 to {fmt.MAX_EVENTS_PER_RECORD})"
        )
    inflater = zlib.decompressobj()
    try:
        # max_length bounds the work: a bomb stops at raw_size + 1 bytes.
        raw = inflater.decompress(payload[fmt.EVENTS_HEAD.size :], raw_size + 1)
    except zlib.error as exc:
        raise InvalidBundle(f"an events record does not inflate: {exc}") from exc
    if len(raw) != raw_size or not inflater.eof or inflater.unused_data:
        raise InvalidBundle("an events record does not inflate to the size it declares")
    lines = raw.split(b"\n")
    if len(lines) != count or not all(lines):
        raise InvalidBundle("an events record does not hold the number of events it declares")
    return EventLines(lines, raw_size)


def parse_blob(payload: bytes, max_blob_bytes: int) -> BlobChunk:
    if len(payload) < fmt.BLOB_HEAD.size:
        raise InvalidBundle("a blob record is shorter than its header")
    sha, size, offset, meta_len = fmt.BLOB_HEAD.unpack_from(payload)
    start = fmt.BLOB_HEAD.size + meta_len
    if meta_len > fmt.MAX_META or start > len(payload):
        raise InvalidBundle("a blob record's metadata is longer than the record")
    data = payload[start:]
    digest = sha.hex()
    if size > max_blob_bytes:
        raise InvalidBundle(
            f"blob {digest} is {size} bytes, over this node's limit of {max_blob_bytes}"
        )
    if offset + len(data) > size or (not data and size):
        raise InvalidBundle(f"a record of blob {digest} lies outside the blob")
    return BlobChunk(digest, size, offset, parse_meta(payload[fmt.BLOB_HEAD.size : start]), data)


class PartReader:
    """One part file: its header at once, its records on iteration."""

    def __init__(self, path: Path, *, max_blob_bytes: int = 1 << 30) -> None:
        self.path = path
        self.max_blob_bytes = max_blob_bytes
        try:
            with path.open("rb") as handle:
                self.size = os.fstat(handle.fileno()).st_size
                self.header = parse_header(handle.read(fmt.HEADER_SIZE))
        except OSError as exc:
            raise InvalidBundle(f"{path.name}: cannot be read ({exc.strerror})") from exc

    def records(self) -> Iterator[Record]:
        """Each record, checked; raises at the end unless the part is whole."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(fmt.HEADER_SIZE)
                yield from self._records(handle)
        except OSError as exc:
            raise InvalidBundle(f"{self.path.name}: cannot be read ({exc.strerror})") from exc

    def _records(self, handle: BinaryIO) -> Iterator[Record]:
        region = hashlib.sha256()
        position = fmt.HEADER_SIZE
        count = 0
        events_raw = 0
        while True:
            head = handle.read(fmt.RECORD_HEAD.size)
            if len(head) < fmt.RECORD_HEAD.size:
                raise InvalidBundle(f"{self._label()} is truncated (it ends before its end record)")
            kind, length = fmt.RECORD_HEAD.unpack(head)
            if length > fmt.MAX_RECORD:
                raise InvalidBundle(
                    f"{self._label()}: a record of {length} bytes is over the limit"
                )
            if position + fmt.RECORD_OVERHEAD + length > self.size:
                raise InvalidBundle(f"{self._label()} is truncated (a record runs past the end)")
            payload = handle.read(length)
            crc = handle.read(fmt.RECORD_CRC.size)
            if len(payload) < length or len(crc) < fmt.RECORD_CRC.size:
                raise InvalidBundle(f"{self._label()} is truncated")
            if fmt.RECORD_CRC.unpack(crc)[0] != fmt.crc32(head, payload):
                raise InvalidBundle(f"{self._label()}: record {count + 1} is corrupt (checksum)")
            position += fmt.RECORD_OVERHEAD + length
            if kind == fmt.END:
                self._check_end(payload, count, region.digest(), position)
                return
            region.update(head)
            region.update(payload)
            region.update(crc)
            count += 1
            if kind == fmt.EVENTS:
                lines = parse_events(payload)
                events_raw += lines.raw_size
                if events_raw > fmt.MAX_PART_EVENTS_RAW:
                    raise InvalidBundle(f"{self._label()}: its events inflate past the limit")
                yield lines
            elif kind == fmt.BLOB:
                yield parse_blob(payload, self.max_blob_bytes)
            else:
                raise InvalidBundle(f"{self._label()}: unknown record type {kind}")

    def _check_end(self, payload: bytes, count: int, digest: bytes, position: int) -> None:
        if len(payload) != fmt.END_BODY.size:
            raise InvalidBundle(f"{self._label()}: the end record is malformed")
        declared, declared_digest = fmt.END_BODY.unpack(payload)
        if declared != count or declared_digest != digest:
            raise InvalidBundle(f"{self._label()}: records are missing or altered (sha256)")
        if position != self.size:
            raise InvalidBundle(f"{self._label()}: there are bytes after its end record")

    def _label(self) -> str:
        return f"{self.path.name} ({self.header.label()})"
