"""The four kind classes of NIP-01 and the kinds minga gives a meaning to."""

from __future__ import annotations

from enum import Enum


class KindClass(Enum):
    REGULAR = "regular"
    REPLACEABLE = "replaceable"
    EPHEMERAL = "ephemeral"
    ADDRESSABLE = "addressable"


def kind_class(kind: int) -> KindClass:
    """Classify a kind by the ranges of NIP-01.

    Kinds outside every named range (45..999, 40000..65535) are treated as
    regular: they are stored and every one of them is kept.
    """
    if 20000 <= kind < 30000:
        return KindClass.EPHEMERAL
    if 30000 <= kind < 40000:
        return KindClass.ADDRESSABLE
    if 10000 <= kind < 20000 or kind in (0, 3):
        return KindClass.REPLACEABLE
    return KindClass.REGULAR


def is_replaceable(kind: int) -> bool:
    return kind_class(kind) is KindClass.REPLACEABLE


def is_addressable(kind: int) -> bool:
    return kind_class(kind) is KindClass.ADDRESSABLE


def is_ephemeral(kind: int) -> bool:
    return kind_class(kind) is KindClass.EPHEMERAL


# Kinds with a meaning in minga (see docs/protocol.md).
METADATA = 0
NOTE = 1
DELETION = 5
REPOST = 6
GENERIC_REPOST = 16
SEAL = 13
GIFT_WRAP = 1059
FILE_METADATA = 1063
FOLLOW_SET = 30000  # the outlet roster is a follow set with d = ROSTER_D_TAG
ROSTER_D_TAG = "minga-roster"
LONG_FORM = 30023
DRAFT = 30024
LIVE_EVENT = 30311
CLIENT_AUTH = 22242  # NIP-42
BLOSSOM_AUTH = 24242  # BUD-11
NOSTR_CONNECT = 24133  # NIP-46 remote signing requests and answers (ephemeral)
