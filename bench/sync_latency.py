"""Time for a 2 KB dispatch filed on one node to be on every node of the collective.

Three nodes in Linux network namespaces (needs root), every link shaped like a
bad street connection: 256 kbit/s, 300 ms each way, 5 % loss (user-space
emulator of tests/netns/linkemu.py: this kernel has no sch_netem). Two figures:

- filed: from sending EVENT to node A until the dispatch is in the stores of
  A, B and C (polled read-only every 10 ms);
- after a heal: the dispatch is filed on A while A is cut off from B and C
  (for --partition seconds, long enough for idle connections to notice), then
  the links heal; time from the heal until it is on every node.

Reference in the same run: the link's own round trip (TCP connect from A to
B across the shaped link, median of 9). Goal (issue 5): under 5 s.

    python bench/sync_latency.py [--samples 10] [--heals 3] [--partition 45]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT.parent))

from tests.netns.netns import STREET, Street, StreetNode, dispatch, unavailable  # noqa: E402

from common import git_revision, record  # noqa: E402

GOAL = 5.0
POLL = 0.01
TIMEOUT = 600.0


def present_everywhere(street: Street, event_id: str, started: float) -> float:
    """Seconds from ``started`` until ``event_id`` is in every node's store."""
    waiting = dict(street.nodes)
    deadline = time.monotonic() + TIMEOUT
    while waiting:
        for name, node in list(waiting.items()):
            if street.missing([event_id], [node])[name] == 0:
                del waiting[name]
        if not waiting:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"{event_id} never reached {sorted(waiting)}\n{street.report()}")
        time.sleep(POLL)
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float], rtt: float) -> dict[str, float]:
    p50 = statistics.median(values)
    return {
        "p50_s": round(p50, 2),
        "p90_s": round(percentile(values, 0.9), 2),
        "max_s": round(max(values), 2),
        "ratio_p50_to_goal_5s": round(p50 / GOAL, 2),
        "ratio_p50_to_round_trip": round(p50 / rtt, 1),
    }


def filed(street: Street, origin: StreetNode, samples: int) -> list[float]:
    times = []
    with origin.client() as client:
        for n in range(samples):
            event = dispatch(street.outlet_key, 2048, title=f"Latencia {n}")
            started = time.perf_counter()
            answer = client.publish(event)
            if answer[2] is not True:
                raise SystemExit(f"the dispatch was refused: {answer}")
            times.append(present_everywhere(street, event.id, started))
            print(f"  filed #{n}: {times[-1]:.2f} s", file=sys.stderr)
            time.sleep(1)
    return times


def after_heal(street: Street, origin: StreetNode, heals: int, partition: float) -> list[float]:
    others = [n for n in street.nodes.values() if n is not origin]
    times = []
    for n in range(heals):
        street.partition([origin], others)
        event = dispatch(street.outlet_key, 2048, title=f"Tras el corte {n}")
        answer = origin.publish(event)[0]
        if answer[2] is not True:
            raise SystemExit(f"the dispatch was refused: {answer}")
        time.sleep(partition)
        if street.missing([event.id], others) != {o.name: 1 for o in others}:
            raise SystemExit("the dispatch crossed the partition: the cut is not working")
        started = time.perf_counter()
        street.heal()
        times.append(present_everywhere(street, event.id, started))
        print(f"  heal #{n}: {times[-1]:.2f} s after the heal", file=sys.stderr)
        time.sleep(2)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--heals", type=int, default=3)
    parser.add_argument("--partition", type=float, default=45.0, help="seconds cut off")
    parser.add_argument("--sync-interval", type=int, default=30)
    args = parser.parse_args()
    why_not = unavailable()
    if why_not:
        raise SystemExit(f"cannot run: {why_not}")
    result: dict[str, object] = {
        "revision": git_revision(),
        "links": "256 kbit/s, 300 ms one way, 5 % loss, every link",
        "samples": args.samples,
        "heals": args.heals,
        "partition_s": args.partition,
        "sync_interval_s": args.sync_interval,
    }
    with (
        tempfile.TemporaryDirectory(prefix="minga-sync-latency-") as tmp,
        Street(Path(tmp)) as street,
    ):
        street.init(sync_interval=args.sync_interval)
        street.shape(STREET)
        street.start()
        street.wait_converged(TIMEOUT)
        a, b = street["a"], street["b"]
        trips = street.round_trip(a, b, tries=9)
        rtt = statistics.median(trips)
        result["round_trip_s"] = round(rtt, 3)
        print(f"  round trip A-B: {rtt:.3f} s", file=sys.stderr)
        result["filed"] = summary(filed(street, a, args.samples), rtt)
        if args.heals:
            result["after_heal"] = summary(after_heal(street, a, args.heals, args.partition), rtt)
        result["links_counters"] = street.link_stats()
    record("sync_latency", result)


if __name__ == "__main__":
    main()
