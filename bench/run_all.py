"""Run every benchmark of bench/ in turn (slow: about 45 minutes with the 1M store)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    ["ingest.py", "--events", "100000", "--relay-events", "40000"],
    ["query.py", "--events", "1000000", "--queries", "2000"],
    ["desk_latency.py", "--samples", "10"],
    ["page_weight.py"],
    ["upload_resume.py", "--megabytes", "40"],
    ["upload_resume.py", "--video", "--megabytes", "500"],
    [
        "site_build.py",
        "--dispatches",
        "10000",
        "--runs",
        "3",
        "--per-page",
        "100",
        "--feed-items",
        "20",
    ],
    ["site_weight.py", "--dispatches", "2000"],
    ["publish_latency.py", "--samples", "5"],
    ["sync_reconcile.py"],
    ["sync_latency.py", "--samples", "10", "--heals", "3"],  # root: network namespaces
    ["bundle_rate.py"],
]

if __name__ == "__main__":
    for script, *args in SCRIPTS:
        print(f"== {script} {' '.join(args)}", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *args], check=True)
