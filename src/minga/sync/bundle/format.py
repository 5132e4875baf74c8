"""The bundle container, version 1: what the bytes of one part are.

A bundle is one or more *parts*; each part is a file that stands on its own::

    part    := header record* end
    header  := magic "MINGABDL" (8) · version u16 · flags u16 · part index u32
               (from 1) · part count u32 · bundle id (16) · created_at u64
               · crc32 of the 44 bytes before it u32                  (48 bytes)
    record  := type u8 · length u32 · payload[length] · crc32(type·length·payload) u32
    end     := a record of type END whose payload is: records before it u32
               · sha256 of every byte between the header and the end record (32)

Record payloads (integers big-endian):

- ``EVENTS`` (1): raw length u32 · event count u32 · zlib stream. The stream
  inflates to exactly ``raw length`` bytes: the events' JSON, one per line
  (the stored text, so ids and signatures check as they did at the source).
- ``BLOB`` (2): sha256 (32) · blob size u64 · offset u64 · metadata length u16
  · metadata (JSON: ``type``, ``private``, ``owners``, ``ref`` — the id of an
  event that names the blob) · bytes ``[offset, offset + n)`` of the blob.
  A large blob spans several records, and several parts.

Nothing in a part is a file name or a path, so an import cannot write outside
its folders whatever the bytes say. The checksums catch truncation and
corruption on the way (a stick pulled too early, an attachment cut short);
they are no seal: authenticity comes from each event's signature and each
blob's sha256, both checked on import.
"""

from __future__ import annotations

import re
import struct
import zlib

MAGIC = b"MINGABDL"
VERSION = 1
SUFFIX = ".minga"

HEADER = struct.Struct(">8sHHII16sQ")  # followed by its crc32 (u32)
HEADER_SIZE = HEADER.size + 4
RECORD_HEAD = struct.Struct(">BI")
RECORD_CRC = struct.Struct(">I")
RECORD_OVERHEAD = RECORD_HEAD.size + RECORD_CRC.size
EVENTS_HEAD = struct.Struct(">II")
BLOB_HEAD = struct.Struct(">32sQQH")
END_BODY = struct.Struct(">I32s")
END_SIZE = RECORD_OVERHEAD + END_BODY.size

EVENTS = 1
BLOB = 2
END = 255

# Hard limits, the same for the writer and the reader: the reader never holds
# more than one record in memory, and never inflates more than it was told.
MAX_RECORD = 8 << 20  # bytes of one record's payload
MAX_EVENTS_RAW = 16 << 20  # inflated bytes of one EVENTS record
MAX_EVENTS_PER_RECORD = 20_000
MAX_PART_EVENTS_RAW = 1 << 30  # inflated event bytes in one part
MAX_META = 16 << 10
MAX_OWNERS = 64
BLOB_CHUNK = 4 << 20  # the writer's blob bytes per record
EVENTS_TARGET = 2 << 20  # the writer's inflated bytes per EVENTS record
MIN_PART_SIZE = 1_000_000

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)", re.IGNORECASE)
_UNITS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def crc32(*chunks: bytes) -> int:
    value = 0
    for chunk in chunks:
        value = zlib.crc32(chunk, value)
    return value


def pack_header(bundle_id: bytes, index: int, count: int, created_at: int) -> bytes:
    head = HEADER.pack(MAGIC, VERSION, 0, index, count, bundle_id, created_at)
    return head + RECORD_CRC.pack(crc32(head))


def pack_record(kind: int, payload: bytes) -> bytes:
    head = RECORD_HEAD.pack(kind, len(payload))
    return head + payload + RECORD_CRC.pack(crc32(head, payload))


def parse_size(text: str) -> int:
    """``25M``, ``2G``, ``700k``, ``64MiB`` or plain bytes; K/M/G are powers of
    1000 (what mail and messaging apps mean), KiB/MiB/GiB powers of 1024."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a size (e.g. 25M, 2G, 700K, 64MiB)")
    number, unit, binary = match.groups()
    base = 1024 if binary.lower().startswith("i") else 1000
    return int(float(number) * base ** _UNITS[unit.lower()])


def part_name(stem: str, index: int, count: int) -> str:
    """``stem.part002-of-010.minga``: sorts by index, says how many to expect."""
    width = max(3, len(str(count)))
    return f"{stem}.part{index:0{width}d}-of-{count:0{width}d}{SUFFIX}"
