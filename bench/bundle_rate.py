"""Bundle export and import rate: 100,000 events with 1 GB of blobs.

A source store gets realistic signed events (bench/common.py, newsroom
profile) and 200 photos of 5 MB of random bytes (each named by a note's imeta
entry). ``export_bundle`` writes the bundle (timed in-process); then a fresh
node (its own data folder and SQLite store) imports it with the real
``minga bundle import`` command (timed as a process, start-up included; its
events come from 1,000 authors off the roster, hence --any-author).

Reference, measured on the same bytes in the same run: copying the bundle
file(s) and hashing them with sha256 (what any tool that moves and checks the
bytes must at least do). Figures: events/s and MB/s each way, and MB/s as a
ratio to the reference.

    python bench/bundle_rate.py [--events 100000] [--blobs 200] [--blob-mb 5] [--part-size 2G]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT.parent / "src")]

from common import events_file, git_revision, record, setup  # noqa: E402

MB = 1_000_000


def fill(events: int, blobs: int, blob_mb: float) -> int:
    from django.conf import settings

    from minga.blobs import service
    from minga.blobs.storage import BlobStore
    from minga.events import SecretKey, sign_event
    from minga.events.validate import parse_event_json
    from minga.node.setup import ensure_identity
    from minga.store.ingest import Pipeline

    ensure_identity("Bench")
    pipeline = Pipeline(verified=True, batch_size=5000, threaded=True)
    with events_file(events).open() as source:
        for line in source:
            pipeline.add(parse_event_json(line))
    store = BlobStore(settings.MINGA.data_path / "blobs")
    photographer = SecretKey.generate()
    size = int(blob_mb * MB)
    total = 0
    for n in range(blobs):
        sha, _new = store.put(os.urandom(size))
        service.record(sha, size, "image/jpeg", photographer.pubkey)
        imeta = ["imeta", f"url http://127.0.0.1/{sha}.jpg", "m image/jpeg", f"x {sha}"]
        pipeline.add(sign_event(photographer, 1, f"foto {n}", [imeta]))
        total += size
    pipeline.flush()
    return total


def reference(paths: list[Path], into: Path) -> float:
    """Seconds to copy the files and sha256 them (page cache dropped where allowed)."""
    started = time.perf_counter()
    into.mkdir()
    for path in paths:
        copy = into / path.name
        shutil.copyfile(path, copy)
        h = hashlib.sha256()
        with copy.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
        with copy.open("rb+") as handle:
            os.fsync(handle.fileno())
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--blobs", type=int, default=200)
    parser.add_argument("--blob-mb", type=float, default=5.0)
    parser.add_argument("--part-size", default=None, help="e.g. 25M (default: one file)")
    args = parser.parse_args()

    data, _db = setup("sqlite")
    print(f"filling the source store ({args.events:,} events, {args.blobs} blobs)", file=sys.stderr)
    blob_bytes = fill(args.events, args.blobs, args.blob_mb)

    from django.conf import settings

    from minga.blobs.storage import BlobStore
    from minga.sync.bundle.exporter import Selection, export_bundle
    from minga.sync.bundle.format import parse_size

    work = Path(tempfile.mkdtemp(prefix="minga-bundle-bench-"))
    try:
        started = time.perf_counter()
        report = export_bundle(
            work / "bench.minga",
            Selection(),
            BlobStore(settings.MINGA.data_path / "blobs"),
            parse_size(args.part_size) if args.part_size else None,
        )
        export_s = time.perf_counter() - started
        bundle_bytes = sum(p.stat().st_size for p in report.paths)
        ref_s = reference(report.paths, work / "copy")
        shutil.rmtree(work / "copy")

        env = {k: v for k, v in os.environ.items() if not k.startswith("MINGA_")}
        env.update(
            MINGA_DATA_DIR=str(work / "dest"), MINGA_VAULT_KEY="33" * 32, MINGA_LOG_LEVEL="warning"
        )
        minga = [sys.executable, "-m", "minga"]
        subprocess.run([*minga, "init"], env=env, check=True, capture_output=True)
        started = time.perf_counter()
        done = subprocess.run(
            [*minga, "bundle", "import", "--any-author", *map(str, report.paths)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        import_s = time.perf_counter() - started
        print(done.stdout, file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ref_rate = bundle_bytes / MB / ref_s
    result = {
        "command": " ".join(["python bench/bundle_rate.py", *sys.argv[1:]]),
        "revision": git_revision(),
        "events": report.events,
        "blobs": report.blobs,
        "blob_bytes": blob_bytes,
        "bundle_bytes": bundle_bytes,
        "parts": len(report.paths),
        "export_seconds": round(export_s, 2),
        "export_events_per_s": round(report.events / export_s),
        "export_mb_per_s": round(bundle_bytes / MB / export_s, 1),
        "import_seconds": round(import_s, 2),
        "import_events_per_s": round(report.events / import_s),
        "import_mb_per_s": round(bundle_bytes / MB / import_s, 1),
        "reference_copy_sha256_mb_per_s": round(ref_rate, 1),
        "export_ratio_to_reference": round(bundle_bytes / MB / export_s / ref_rate, 3),
        "import_ratio_to_reference": round(bundle_bytes / MB / import_s / ref_rate, 3),
    }
    del data
    record("bundle_rate", result)


if __name__ == "__main__":
    main()
