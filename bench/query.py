"""Query latency on a store of 1,000,000 events (SQLite and PostgreSQL).

The typical filter of issue 2 is one author, one kind, limit 50 (a reporter's
page, a client opening a profile). Each figure is p50 and p99 over many
queries with random authors, through ``minga.store.query.query`` (the call
the relay makes), and its ratio to the reference measured in the same run:
a lookup of one event by id.

    python bench/query.py [--events 1000000] [--queries 2000] [--skip-postgresql]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import drop_pg, events_file, git_revision, record, setup


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3),
    }


def child(backend: str, path: str, queries: int) -> None:
    _, dbname = setup(backend)
    try:
        from django.db import connection

        from minga.events.filters import parse_filter
        from minga.events.validate import loads_json, parse_event
        from minga.store.ingest import Pipeline
        from minga.store.query import count, query

        started = time.perf_counter()
        pipeline = Pipeline(batch_size=10_000, threaded=True)
        authors: set[str] = set()
        ids: list[str] = []
        tags: list[str] = []
        with open(path) as handle:
            for n, line in enumerate(handle):
                event = parse_event(loads_json(line, 1 << 20), verify=False)
                authors.add(event.pubkey)
                if n % 97 == 0:
                    ids.append(event.id)
                    tags.extend(v for k, v in event.indexed_tags() if k == "t")
                pipeline.add(event)
        pipeline.flush()
        load_seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        total = count()
        rng = random.Random(7)
        author_list = sorted(authors)

        def measure(make_filter) -> dict[str, float]:
            samples = []
            for _ in range(queries):
                f = parse_filter(make_filter())
                t = time.perf_counter()
                rows = query([f])
                samples.append(time.perf_counter() - t)
                assert rows is not None
            return percentiles(samples)

        # Warm the caches the way a running node has them warm.
        measure(lambda: {"authors": [rng.choice(author_list)], "kinds": [1], "limit": 50})
        typical = measure(lambda: {"authors": [rng.choice(author_list)], "kinds": [1], "limit": 50})
        by_id = measure(lambda: {"ids": [rng.choice(ids)]})
        by_tag = measure(lambda: {"#t": [rng.choice(tags)], "limit": 50})
        latest = measure(lambda: {"kinds": [30023], "limit": 50})
        sample = query([parse_filter({"authors": [author_list[0]], "kinds": [1], "limit": 50})])
        print(
            json.dumps(
                {
                    "events": total,
                    "load_seconds": round(load_seconds, 1),
                    "typical_author_kind_limit50": typical,
                    "reference_by_id": by_id,
                    "ratio_p50_to_reference": round(typical["p50_ms"] / by_id["p50_ms"], 2),
                    "tag_limit50": by_tag,
                    "latest_dispatches_limit50": latest,
                    "rows_returned_typical": len(sample),
                }
            )
        )
    finally:
        drop_pg(dbname)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--skip-postgresql", action="store_true")
    parser.add_argument("--child", choices=["sqlite", "postgresql"])
    parser.add_argument("--file")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file, args.queries)
        return
    path = events_file(args.events)
    result: dict[str, object] = {"revision": git_revision()}
    for backend in ["sqlite"] + ([] if args.skip_postgresql else ["postgresql"]):
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                backend,
                "--file",
                str(path),
                "--queries",
                str(args.queries),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        result[backend] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{backend}: {result[backend]}", file=sys.stderr)
    record("query", result)


if __name__ == "__main__":
    main()
