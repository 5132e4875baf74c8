"""Time from the reporter pressing "send" to the item on the desk's timeline.

Two runs: loopback, and the reporter's phone on a link shaped to 256 kbit/s
with 300 ms latency (Chromium's network emulation on the reporter's page; the
desk stays on loopback). Reference in the same run: one round trip of the
reporter's page to the node (GET /healthz) under the same conditions. Goal
(issue 3): under 1 s on loopback.

    python bench/desk_latency.py [--samples 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import git_revision, record
from node import chromium, demo_node, shape, sign_in


def run(browser, base: str, samples: int, shaped: bool) -> dict[str, float]:
    desk = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(desk, base, "lucia")
    desk.goto(f"{base}/desk/")
    desk.wait_for_timeout(500)  # the live stream is open
    app = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    sign_in(app, base, "rosa")
    app.goto(f"{base}/r/")
    if shaped:
        shape(app, 256, 300)
    trips = []
    for _ in range(5):
        trips.append(
            app.evaluate(
                "async () => { const t = performance.now(); await fetch('/healthz', {cache: 'no-store'}); return performance.now() - t; }"
            )
        )
    latencies = []
    for n in range(samples):
        text = f"latencia {'lenta' if shaped else 'local'} {n} {time.time()}"
        app.fill("#body", text)
        started = time.perf_counter()
        app.click("#send")
        desk.wait_for_selector(f"text={text}", timeout=60000)
        latencies.append((time.perf_counter() - started) * 1000)
    app.context.close()
    desk.context.close()
    return {
        "p50_ms": round(statistics.median(latencies), 1),
        "max_ms": round(max(latencies), 1),
        "round_trip_ms": round(statistics.median(trips), 1),
        "ratio_to_round_trip": round(statistics.median(latencies) / statistics.median(trips), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=10)
    args = parser.parse_args()
    result: dict[str, object] = {"revision": git_revision(), "samples": args.samples}
    with demo_node() as base, chromium() as browser:
        result["loopback"] = run(browser, base, args.samples, shaped=False)
        result["loopback"]["ratio_to_goal_1s"] = round(result["loopback"]["p50_ms"] / 1000, 2)  # type: ignore[index]
        result["shaped_256kbit_300ms"] = run(browser, base, args.samples, shaped=True)
    record("desk_latency", result)


if __name__ == "__main__":
    main()
