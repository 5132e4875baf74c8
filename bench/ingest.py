"""Ingest: events verified and stored per second, as a ratio to bare verification.

Each figure against bare BIP-340 verification (one core, libsecp256k1
through coincurve, keys already parsed) measured in the same run:

* store path (SQLite, PostgreSQL): events handed to the store
  (``minga.store.ingest.Pipeline``) are verified and stored, every one
  committed;
* import path (SQLite, PostgreSQL): the same starting from JSON lines, so
  parsing and validation are counted too (what `minga import` does);
* relay: clients publish over websockets to `minga serve` (SQLite), each
  event counted when its ``OK true`` comes back (that is, after its commit).

Two event mixes: "notes" (short kind-1 notes, most Nostr traffic) and
"newsroom" (notes plus long-form dispatches, about 1.6 KB an event).

Goal (issue 2): the store path at >= 0.6 of bare verification.

    python bench/ingest.py [--events 100000] [--skip-postgresql] [--skip-relay]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import drop_pg, events_file, git_revision, record, setup


def bare_verification(lines: list[str], limit: int = 40_000) -> float:
    from minga.events.signing import _xonly, verify_signature
    from minga.events.validate import parse_event

    events = [parse_event(json.loads(line), verify=False) for line in lines[:limit]]
    for e in events:  # parse each key once, as the store path's cache does
        _xonly(e.pubkey)
    started = time.perf_counter()
    good = sum(verify_signature(e) for e in events)
    elapsed = time.perf_counter() - started
    assert good == len(events)
    return len(events) / elapsed


def store_child(backend: str, path: str) -> None:
    """Runs in its own process: one backend, one fresh store."""
    _, dbname = setup(backend)
    try:
        from django.db import connection

        from minga.events.validate import loads_json, parse_event
        from minga.store.ingest import Pipeline
        from minga.store.query import count

        lines = Path(path).read_text().splitlines()
        bare = bare_verification(lines)

        def run(items, prepare) -> float:
            started = time.perf_counter()
            pipeline = Pipeline(batch_size=10_000, threaded=True)
            stored = 0
            for item in items:
                stored += sum(o.stored for o in pipeline.add(prepare(item)))
            stored += sum(o.stored for o in pipeline.flush())
            elapsed = time.perf_counter() - started
            assert stored == len(lines) == count(), (stored, len(lines))
            return elapsed

        events = [parse_event(loads_json(line, 1 << 20), verify=False) for line in lines]
        store_seconds = run(events, lambda e: e)
        with connection.cursor() as cursor:  # start the second run from an empty store
            if connection.vendor == "postgresql":
                cursor.execute("TRUNCATE minga_tag, minga_event RESTART IDENTITY")
                cursor.execute("VACUUM ANALYZE minga_event")
            else:
                cursor.execute("DELETE FROM minga_tag")
                cursor.execute("DELETE FROM minga_event")
        import_seconds = run(
            lines, lambda line: parse_event(loads_json(line, 1 << 20), verify=False)
        )
        bare = (bare + bare_verification(lines)) / 2
        print(
            json.dumps(
                {
                    "events": len(lines),
                    "bare_per_second": round(bare),
                    "store_per_second": round(len(lines) / store_seconds),
                    "store_ratio": round(len(lines) / store_seconds / bare, 2),
                    "import_per_second": round(len(lines) / import_seconds),
                    "import_ratio": round(len(lines) / import_seconds / bare, 2),
                }
            )
        )
    finally:
        drop_pg(dbname)


async def _publish(relay_url: str, messages: list[str], window: int) -> int:
    import websockets

    acknowledged = 0
    async with websockets.connect(relay_url, max_size=None) as ws:
        await ws.recv()  # AUTH challenge
        slots = asyncio.Semaphore(window)

        async def sender() -> None:
            for message in messages:
                await slots.acquire()
                await ws.send(message)

        async def reader() -> None:
            nonlocal acknowledged
            for _ in messages:
                answer = json.loads(await ws.recv())
                slots.release()
                if answer[0] == "OK" and answer[2]:
                    acknowledged += 1

        await asyncio.gather(sender(), reader())
    return acknowledged


def relay_path(lines: list[str], clients: int = 4, window: int = 2000) -> dict[str, float]:
    data = tempfile.mkdtemp(prefix="minga-bench-relay-")
    port = 18000 + os.getpid() % 1000
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MINGA_")},
        "MINGA_DATA_DIR": data,
        "MINGA_PORT": str(port),
        "MINGA_OPEN_WRITES": "true",
        "MINGA_EVENT_RATE": "1000000",
        "MINGA_EVENT_BURST": "1000000",
        "MINGA_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen([sys.executable, "-m", "minga", "serve"], env=env)
    try:
        import httpx

        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        messages = [f'["EVENT",{line}]' for line in lines]
        shares = [messages[i::clients] for i in range(clients)]
        relay_url = f"ws://127.0.0.1:{port}/relay"

        async def run_all() -> int:
            counts = await asyncio.gather(*(_publish(relay_url, s, window) for s in shares))
            return sum(counts)

        started = time.perf_counter()
        acknowledged = asyncio.run(run_all())
        elapsed = time.perf_counter() - started
        assert acknowledged == len(lines), (acknowledged, len(lines))
        return {
            "events": len(lines),
            "seconds": round(elapsed, 2),
            "per_second": round(len(lines) / elapsed),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--relay-events", type=int, default=40_000)
    parser.add_argument("--skip-postgresql", action="store_true")
    parser.add_argument("--skip-relay", action="store_true")
    parser.add_argument("--child", choices=["sqlite", "postgresql"])
    parser.add_argument("--file")
    args = parser.parse_args()
    if args.child:
        store_child(args.child, args.file)
        return

    result: dict[str, object] = {"revision": git_revision(), "events": args.events}
    for profile in ("notes", "newsroom"):
        path = events_file(args.events, profile=profile)
        lines = path.read_text().splitlines()[: args.events]
        mean = sum(len(line) for line in lines) / len(lines)
        backends = ["sqlite"] + ([] if args.skip_postgresql else ["postgresql"])
        for backend in backends:
            done = subprocess.run(
                [sys.executable, __file__, "--child", backend, "--file", str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            figures["mean_event_bytes"] = round(mean)
            result[f"{backend}_{profile}"] = figures
            print(f"store ({backend}, {profile}): {figures}", file=sys.stderr)
        if not args.skip_relay:
            os.environ.pop("MINGA_DATABASE_URL", None)
            bare = bare_verification(lines)
            figures = relay_path(lines[: args.relay_events])
            figures["bare_per_second"] = round(bare)
            figures["mean_event_bytes"] = round(mean)
            figures["ratio_to_bare_verification"] = round(figures["per_second"] / bare, 2)
            result[f"relay_sqlite_{profile}"] = figures
            print(f"relay (sqlite, {profile}): {figures}", file=sys.stderr)
    record("ingest", result)


if __name__ == "__main__":
    main()
