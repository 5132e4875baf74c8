"""The sorted set of (timestamp, id) items one side reconciles, with O(1) fingerprints.

A range's fingerprint needs the sum of its ids mod 2**256: keeping the running
sums of the sorted ids (Python integers, reduced only when a fingerprint is
taken) makes every range sum one subtraction, so answering a query over 100,000
items costs a few bisections and hashes per range, never a pass over the items.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable

from minga.exceptions import InvalidNegentropy
from minga.sync.negentropy.wire import FINGERPRINT_SIZE, ID_SIZE, INFINITY, item_key, varint

_MOD = 2**256


class Items:
    """Items sorted by timestamp then id, duplicates dropped."""

    __slots__ = ("ids", "keys", "sums")

    def __init__(self, items: Iterable[tuple[int, bytes]]) -> None:
        keys = set()
        for timestamp, item_id in items:
            if type(timestamp) is not int or not 0 <= timestamp < INFINITY:
                raise InvalidNegentropy(
                    f"an item timestamp must be in [0, 2**64 - 1): {timestamp!r}"
                )
            if not isinstance(item_id, bytes) or len(item_id) != ID_SIZE:
                raise InvalidNegentropy("an item id must be 32 bytes")
            keys.add(item_key(timestamp, item_id))
        self.keys: list[bytes] = sorted(keys)
        self.ids: list[bytes] = [k[8:] for k in self.keys]
        sums = [0] * (len(self.keys) + 1)
        total = 0
        for i, item_id in enumerate(self.ids, 1):
            total += int.from_bytes(item_id, "little")
            sums[i] = total
        self.sums = sums

    def __len__(self) -> int:
        return len(self.keys)

    def lower_bound(self, key: bytes, lo: int) -> int:
        """Index of the first item at or after ``key``, not before ``lo``."""
        return bisect_left(self.keys, key, lo)

    def fingerprint(self, lo: int, hi: int) -> bytes:
        total = (self.sums[hi] - self.sums[lo]) % _MOD
        digest = hashlib.sha256(total.to_bytes(32, "little") + varint(hi - lo)).digest()
        return digest[:FINGERPRINT_SIZE]

    def minimal_bound(self, index: int) -> bytes:
        """The shortest bound key that separates item ``index - 1`` from item ``index``."""
        prev, curr = self.keys[index - 1], self.keys[index]
        if prev[:8] != curr[:8]:
            return curr[:8] + bytes(ID_SIZE)
        shared = 0
        while prev[8 + shared] == curr[8 + shared]:
            shared += 1
        return curr[: 8 + shared + 1] + bytes(ID_SIZE - shared - 1)
