"""The byte-level pieces of negentropy protocol v1: varints, timestamps, bounds.

A bound is kept as one 40-byte key, the 8-byte big-endian timestamp followed by
the id prefix padded with zero bytes to 32: comparing two keys as bytes is then
the protocol's (timestamp, id) order, so the sorted items can be searched with
:func:`bisect.bisect_left` on plain ``bytes`` (fast, no tuples to build).
"""

from __future__ import annotations

from minga.exceptions import InvalidNegentropy

PROTOCOL_VERSION = 0x61
ID_SIZE = 32
FINGERPRINT_SIZE = 16
INFINITY = 2**64 - 1  # the reserved "infinity" timestamp

SKIP = 0
FINGERPRINT = 1
ID_LIST = 2

_MAX_VARINT_BYTES = 10  # 64 bits in base 128
_ZERO_ID = bytes(ID_SIZE)
INFINITY_KEY = INFINITY.to_bytes(8, "big") + _ZERO_ID


def varint(n: int) -> bytes:
    """Base-128 digits, most significant first, the high bit set on all but the last."""
    if n < 0x80:
        return bytes((n,))
    digits = [n & 0x7F]
    n >>= 7
    while n:
        digits.append((n & 0x7F) | 0x80)
        n >>= 7
    digits.reverse()
    return bytes(digits)


def item_key(timestamp: int, item_id: bytes) -> bytes:
    return timestamp.to_bytes(8, "big") + item_id


class Reader:
    """Reads one message front to back; any shortfall is :class:`InvalidNegentropy`."""

    __slots__ = ("data", "last_timestamp", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.last_timestamp = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise InvalidNegentropy("the message ends too early")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise InvalidNegentropy("the message ends too early")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def varint(self) -> int:
        n = 0
        for _ in range(_MAX_VARINT_BYTES):
            b = self.byte()
            n = (n << 7) | (b & 0x7F)
            if not b & 0x80:
                if n > INFINITY:
                    raise InvalidNegentropy("a number is larger than 64 bits")
                return n
        raise InvalidNegentropy("a number is longer than 64 bits")

    def timestamp(self) -> int:
        """A bound's timestamp: 0 is infinity, else 1 + the offset from the previous one."""
        encoded = self.varint()
        if encoded == 0 or self.last_timestamp == INFINITY:
            self.last_timestamp = INFINITY
            return INFINITY
        value = self.last_timestamp + encoded - 1
        if value > INFINITY:
            raise InvalidNegentropy("a bound's timestamp is past infinity")
        self.last_timestamp = value
        return value

    def bound(self) -> bytes:
        """A bound as a 40-byte key (see the module docstring)."""
        timestamp = self.timestamp()
        length = self.varint()
        if length > ID_SIZE:
            raise InvalidNegentropy("a bound's id prefix is longer than 32 bytes")
        prefix = self.take(length)
        return timestamp.to_bytes(8, "big") + prefix + _ZERO_ID[length:]


class Writer:
    """Builds one message; timestamps are written as offsets from the previous bound."""

    __slots__ = ("last_timestamp", "parts", "size")

    def __init__(self) -> None:
        self.parts: list[bytes] = [bytes((PROTOCOL_VERSION,))]
        self.size = 1
        self.last_timestamp = 0

    def add(self, chunk: bytes) -> None:
        self.parts.append(chunk)
        self.size += len(chunk)

    def bound(self, key: bytes) -> bytes:
        """The encoding of a bound (not yet added: the caller may drop it).

        Omitted prefix bytes are zeros, so the shortest prefix that keeps the
        key drops its trailing zero bytes; for a minimal bound between two items
        that is exactly "common prefix plus one byte" (the differing byte of the
        larger id cannot be zero).
        """
        prefix = key[8:].rstrip(b"\x00")
        timestamp = int.from_bytes(key[:8], "big")
        if timestamp == INFINITY:
            self.last_timestamp = INFINITY
            encoded = b"\x00"
        else:
            encoded = varint(timestamp - self.last_timestamp + 1)
            self.last_timestamp = timestamp
        return encoded + varint(len(prefix)) + prefix

    def getvalue(self) -> bytes:
        return b"".join(self.parts)
