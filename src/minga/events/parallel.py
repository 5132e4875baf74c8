"""Verifying many signatures on every core.

Threads do not help here: each verification needs the GIL for a moment
before and after its C call, and a thread busy parsing or storing keeps the
verifying threads waiting (measured: slower than one thread). So batches go to
worker *processes* (``python -m minga.events.parallel``), packed as 128 bytes
an event (pubkey 32, signature 64, id 32) over a pipe; each answers one byte an
event. A worker reads its pipe until it closes, so it ends with its parent,
even after ``kill -9``.

Below ``INLINE_MAX`` events, or if a worker cannot be started or dies,
verification happens in the calling thread: slower, never wrong.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import IO

from coincurve import PublicKeyXOnly

from minga.events.event import Event
from minga.events.signing import verify_signature

log = logging.getLogger(__name__)

INLINE_MAX = 128
RECORD = 128
_HEADER = struct.Struct(">I")
MAX_BLOB = RECORD * 1_000_000


@lru_cache(maxsize=65536)
def _key(raw: bytes) -> PublicKeyXOnly | None:
    try:
        return PublicKeyXOnly(raw)
    except ValueError:
        return None


def verify_packed(blob: bytes) -> bytes:
    """Verify 128-byte records; one byte (1 valid, 0 not) per record."""
    out = bytearray(len(blob) // RECORD)
    for n, off in enumerate(range(0, len(blob) - RECORD + 1, RECORD)):
        key = _key(blob[off : off + 32])
        if key is not None and key.verify(blob[off + 32 : off + 96], blob[off + 96 : off + 128]):
            out[n] = 1
    return bytes(out)


def pack(events: Sequence[Event]) -> bytes:
    return b"".join(
        bytes.fromhex(e.pubkey) + bytes.fromhex(e.sig) + bytes.fromhex(e.id) for e in events
    )


def _read_exact(stream: IO[bytes], n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class _Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "minga.events.parallel"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        self.lock = threading.Lock()

    def verify(self, blob: bytes) -> bytes:
        with self.lock:
            assert self.proc.stdin is not None
            assert self.proc.stdout is not None
            self.proc.stdin.write(_HEADER.pack(len(blob)) + blob)
            answer = _read_exact(self.proc.stdout, len(blob) // RECORD)
        if answer is None:
            raise OSError("verification worker stopped")
        return answer

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class _Workers:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.workers: list[_Worker] = []
        self.io: ThreadPoolExecutor | None = None
        self.failed = False

    def get(self) -> tuple[list[_Worker], ThreadPoolExecutor] | None:
        with self.lock:
            if self.failed:
                return None
            if not self.workers:
                count = max(1, os.cpu_count() or 1)
                try:
                    self.workers = [_Worker() for _ in range(count)]
                except OSError as exc:
                    log.warning("cannot start verification workers (%s): verifying inline", exc)
                    self.failed = True
                    return None
                self.io = ThreadPoolExecutor(count, thread_name_prefix="verify-io")
            assert self.io is not None
            return self.workers, self.io

    def reset(self) -> None:
        with self.lock:
            workers, self.workers = self.workers, []
            io, self.io = self.io, None
        for worker in workers:
            with contextlib.suppress(OSError):
                worker.close()
        if io is not None:
            io.shutdown(wait=False)


_workers = _Workers()


def shutdown() -> None:
    """Stop the worker processes (also done at interpreter exit)."""
    _workers.reset()


atexit.register(shutdown)


class Pending:
    """A batch being verified; :meth:`result` waits for one bool per event."""

    def __init__(self, events: Sequence[Event], futures: list[Future[bytes]] | None) -> None:
        self._events = events
        self._futures = futures

    def result(self) -> list[bool]:
        if self._futures is None:
            return [verify_signature(e) for e in self._events]
        out: list[bool] = []
        try:
            for future in self._futures:
                out.extend(b == 1 for b in future.result())
        except OSError as exc:
            log.warning("verification worker failed (%s): verifying inline", exc)
            shutdown()
            return [verify_signature(e) for e in self._events]
        return out


def verify_async(events: Sequence[Event]) -> Pending:
    """Start verifying ``events``; returns at once."""
    got = _workers.get() if len(events) > INLINE_MAX else None
    if got is None:
        return Pending(events, None)
    workers, io = got
    size = -(-len(events) // len(workers))
    futures = [
        io.submit(worker.verify, pack(events[i : i + size]))
        for worker, i in zip(workers, range(0, len(events), size), strict=False)
    ]
    return Pending(events, futures)


def verify_many(events: Sequence[Event]) -> list[bool]:
    return verify_async(events).result()


def _serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    while True:
        header = _read_exact(stdin, _HEADER.size)
        if header is None:
            return
        (length,) = _HEADER.unpack(header)
        if length > MAX_BLOB or length % RECORD:
            return
        blob = _read_exact(stdin, length)
        if blob is None:
            return
        stdout.write(verify_packed(blob))
        stdout.flush()


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
