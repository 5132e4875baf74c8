"""The client side of NIP-77: reconcile local items with a relay over any transport.

``send`` and ``receive`` carry JSON arrays, so the same code runs on a
dedicated websocket or multiplexed on a peer link that also carries REQ and
EVENT traffic; the caller routes this subscription's NEG-MSG / NEG-ERR to
``receive``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from minga.exceptions import InvalidNegentropy, SyncError
from minga.sync.negentropy import Negentropy

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass
class Reconciliation:
    """What one reconciliation found (hex ids) and what it cost on the wire.

    ``have``: ids we hold that the relay lacks; ``need``: ids the relay holds
    that we lack. ``rounds``: NEG-MSG answers read. Bytes count the JSON text
    of each NIP-77 message, NEG-CLOSE included.
    """

    have: list[str]
    need: list[str]
    rounds: int
    bytes_sent: int
    bytes_received: int


async def reconcile(
    send: Callable[[list[Any]], Awaitable[None]],
    receive: Callable[[], Awaitable[list[Any]]],
    subid: str,
    filter: dict[str, Any],
    items: Iterable[tuple[int, bytes]],
    *,
    frame_size_limit: int = 60_000,
) -> Reconciliation:
    """Run NEG-OPEN … NEG-CLOSE for ``subid`` and return the differences.

    Raises :class:`SyncError` when the relay answers NEG-ERR or breaks the
    protocol (a message that is not NIP-77, a negentropy message it cannot
    have meant).
    """
    engine = Negentropy(items, frame_size_limit)
    result = Reconciliation([], [], 0, 0, 0)

    async def put(message: list[Any]) -> None:
        result.bytes_sent += len(_dumps(message))
        await send(message)

    first = engine.initiate()
    await put(["NEG-OPEN", subid, filter, first.hex()])
    query: bytes | None = first
    while query is not None:
        answer = await receive()
        result.bytes_received += len(_dumps(answer))
        result.rounds += 1
        if len(answer) >= 3 and answer[0] == "NEG-ERR" and answer[1] == subid:
            # The relay has closed the session already: nothing to NEG-CLOSE.
            raise SyncError(f"NEG-ERR from the relay: {str(answer[2])[:200]}")
        try:
            query = _step(engine, subid, answer, result)
        except SyncError:
            await put(["NEG-CLOSE", subid])
            raise
        if query is not None:
            await put(["NEG-MSG", subid, query.hex()])
    await put(["NEG-CLOSE", subid])
    return result


def _step(
    engine: Negentropy, subid: str, answer: list[Any], result: Reconciliation
) -> bytes | None:
    """Apply one relay message; the next query, or None when reconciled."""
    if len(answer) != 3 or answer[0] != "NEG-MSG" or answer[1] != subid:
        raise SyncError(f"expected NEG-MSG for {subid!r}, got {str(answer)[:80]}")
    try:
        if not isinstance(answer[2], str):
            raise InvalidNegentropy("a negentropy message is a hex string")
        try:
            message = bytes.fromhex(answer[2])
        except ValueError:
            raise InvalidNegentropy("a negentropy message is a hex string") from None
        query, have, need = engine.reconcile(message)
    except InvalidNegentropy as exc:
        raise SyncError(f"the relay's negentropy message is invalid: {exc.message}") from exc
    result.have.extend(i.hex() for i in have)
    result.need.extend(i.hex() for i in need)
    return query
