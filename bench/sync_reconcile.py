"""Catching up after a cut: NIP-77 reconciliation plus fetching what is missing.

A minga node (its own process, data folder and store) holds 100,000 realistic
events (notes, dispatches of 1.5-6 KB, reactions, media records, with tags);
the other side, a peer node's store, holds the same minus 1 % (1,000 events,
all missing on the client's side), measured twice: the missing events in one
window of time (a node that was cut off: the common case) and scattered at
random (the worst case for range-based reconciliation). The client authenticates as a peer (NIP-42), reconciles with
:func:`minga.sync.reconcile.reconcile` over a real websocket, then fetches the
missing events with REQ by ids.

Printed, as ratios to the bytes of the missing events themselves (reference,
goal <= 1.2): the protocol's bytes (negentropy messages, then REQ/EVENT/EOSE
of the fetch; JSON text length), and the bytes that really cross the socket
(counted by a loopback proxy: websocket frames after permessage-deflate, which
minga's relay and sync client negotiate by default; handshake and AUTH
included); also the negentropy round trips and times.

    python bench/sync_reconcile.py [--events 100000] [--missing 0.01]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import events_file, git_revision, record
from node import free_port

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def start_node(path: Path, peer_pubkey: str) -> tuple[subprocess.Popen[bytes], str, str]:
    data = tempfile.mkdtemp(prefix="minga-bench-sync-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINGA_")}
    env.update(
        {
            "MINGA_DATA_DIR": data,
            "MINGA_PORT": str(port),
            "MINGA_LOG_LEVEL": "warning",
            "MINGA_PEERS": f"ws://127.0.0.1:1/relay {peer_pubkey}",
        }
    )
    subprocess.run(
        [sys.executable, "-m", "minga", "init", "--outlet", "Bench"],
        env=env,
        check=True,
        capture_output=True,
    )
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "minga", "import", "--any-author", str(path)],
        env=env,
        check=True,
        capture_output=True,
    )
    print(f"  loaded the node in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    server = subprocess.Popen(
        [sys.executable, "-m", "minga", "serve"], env=env, stdout=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            httpx.get(f"{base}/healthz", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return server, f"ws://127.0.0.1:{port}/relay", data


class CountingProxy:
    """A loopback TCP proxy counting the bytes that really cross the socket
    (websocket frames after permessage-deflate, which minga's relay and client
    both speak by default), both ways."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.up = 0
        self.down = 0
        self.port = 0
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _pipe(self, reader: Any, writer: Any, up: bool) -> None:
        try:
            while data := await reader.read(65536):
                if up:
                    self.up += len(data)
                else:
                    self.down += len(data)
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def _handle(self, reader: Any, writer: Any) -> None:
        target_reader, target_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(
            self._pipe(reader, target_writer, True),
            self._pipe(target_reader, writer, False),
            return_exceptions=True,
        )

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


async def catch_up(
    relay_url: str, key: Any, flt: dict[str, Any], items: list[tuple[int, bytes]]
) -> dict[str, Any]:
    proxy = CountingProxy(int(relay_url.rsplit(":", 1)[1].split("/")[0]))
    await proxy.start()
    try:
        out = await _catch_up(f"ws://127.0.0.1:{proxy.port}/relay", key, flt, items)
    finally:
        await proxy.stop()
    out["socket_up"], out["socket_down"] = proxy.up, proxy.down
    return out


async def _catch_up(
    relay_url: str, key: Any, flt: dict[str, Any], items: list[tuple[int, bytes]]
) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    from minga.events import sign_event
    from minga.sync.reconcile import reconcile

    async with connect(relay_url, max_size=2**24) as ws:
        challenge = json.loads(await ws.recv())[1]
        auth = sign_event(key, 22242, "", [["relay", relay_url], ["challenge", challenge]])
        await ws.send(_dumps(["AUTH", auth.to_dict()]))
        assert json.loads(await ws.recv())[2] is True, "AUTH refused"

        async def send(message: list[Any]) -> None:
            await ws.send(_dumps(message))

        async def receive() -> list[Any]:
            while True:
                message = json.loads(await ws.recv())
                if message[0] in ("NEG-MSG", "NEG-ERR"):
                    return message

        started = time.perf_counter()
        result = await reconcile(send, receive, "catch-up", flt, items)
        reconcile_s = time.perf_counter() - started

        fetched: dict[str, str] = {}
        fetch_sent = fetch_received = 0
        started = time.perf_counter()
        for n in range(0, len(result.need), 500):
            chunk = result.need[n : n + 500]
            request = _dumps(["REQ", f"f{n}", {"ids": chunk}])
            fetch_sent += len(request)
            await ws.send(request)
            while True:
                text = await ws.recv()
                assert isinstance(text, str)
                fetch_received += len(text)
                message = json.loads(text)
                if message[0] == "EVENT":
                    fetched[message[2]["id"]] = _dumps(message[2])
                elif message[0] in ("EOSE", "CLOSED"):
                    break
            close = _dumps(["CLOSE", f"f{n}"])
            fetch_sent += len(close)
            await ws.send(close)
        fetch_s = time.perf_counter() - started
    return {
        "result": result,
        "fetched": fetched,
        "fetch_sent": fetch_sent,
        "fetch_received": fetch_received,
        "reconcile_s": reconcile_s,
        "fetch_s": fetch_s,
    }


def missing_sets(count: int, share: float) -> dict[str, set[int]]:
    """Which events the client lacks: one window of time (a node cut off for a
    while, the common case) and scattered at random (the worst case for RBSR)."""
    n = int(count * share)
    rng = random.Random(77)
    start = rng.randrange(count - n)
    return {"cut": set(range(start, start + n)), "scattered": set(rng.sample(range(count), n))}


def measure(
    name: str, events: list[dict[str, Any]], lacking: set[int], relay_url: str, peer: Any
) -> dict[str, Any]:
    held = [e for i, e in enumerate(events) if i not in lacking]
    missing = {events[i]["id"]: _dumps(events[i]) for i in lacking}
    missing_bytes = sum(len(raw) for raw in missing.values())
    items = [(e["created_at"], bytes.fromhex(e["id"])) for e in held]
    # The data set's time span: leaves out the events `minga init` made.
    flt = {"until": max(e["created_at"] for e in events)}
    out = asyncio.run(catch_up(relay_url, peer, flt, items))
    result = out["result"]
    assert set(result.need) == set(missing), "reconciliation missed or invented events"
    assert result.have == []
    assert set(out["fetched"]) == set(missing), "the fetch did not return every missing event"
    neg_bytes = result.bytes_sent + result.bytes_received
    fetch_bytes = out["fetch_sent"] + out["fetch_received"]
    total = neg_bytes + fetch_bytes
    print(f"-- {name}: the client lacks {len(missing):,} of {len(events):,} events")
    print(f"missing events              {missing_bytes:,} bytes")
    print(f"negentropy messages         {neg_bytes:,} bytes in {result.rounds} round trips")
    print(f"  sent / received           {result.bytes_sent:,} / {result.bytes_received:,}")
    print(f"fetch (REQ by ids + EVENTs) {fetch_bytes:,} bytes")
    print(f"total on the wire           {total:,} bytes")
    print(f"ratio to the missing events {total / missing_bytes:.3f} (goal <= 1.2)")
    socket = out["socket_up"] + out["socket_down"]
    print(f"on the socket (deflate)     {socket:,} bytes, handshake and AUTH included")
    print(f"socket ratio to the missing {socket / missing_bytes:.3f} (goal <= 1.2)")
    print(f"reconcile {out['reconcile_s']:.2f} s, fetch {out['fetch_s']:.2f} s")
    return {
        "missing": len(missing),
        "missing_bytes": missing_bytes,
        "negentropy_bytes_sent": result.bytes_sent,
        "negentropy_bytes_received": result.bytes_received,
        "fetch_bytes": fetch_bytes,
        "wire_bytes": total,
        "ratio_to_missing_bytes": round(total / missing_bytes, 3),
        "socket_bytes": out["socket_up"] + out["socket_down"],
        "socket_ratio_to_missing_bytes": round(
            (out["socket_up"] + out["socket_down"]) / missing_bytes, 3
        ),
        "negentropy_round_trips": result.rounds,
        "reconcile_seconds": round(out["reconcile_s"], 3),
        "fetch_seconds": round(out["fetch_s"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--missing", type=float, default=0.01)
    args = parser.parse_args()

    from minga.events import SecretKey

    path = events_file(args.events)
    events = [json.loads(line) for line in path.read_text().splitlines()]
    peer = SecretKey.generate()
    server, relay_url, data = start_node(path, peer.pubkey)
    figures: dict[str, Any] = {"events": len(events)}
    try:
        for name, lacking in missing_sets(len(events), args.missing).items():
            figures[name] = measure(name, events, lacking, relay_url, peer)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)
    figures["revision"] = git_revision()
    record("sync_reconcile", figures)


if __name__ == "__main__":
    main()
