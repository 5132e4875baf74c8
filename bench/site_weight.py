"""Compressed size of the home page and of dispatch pages (issue 4: goal ≤ 14 KB each,
the first round trip of a fresh connection).

Builds the site of a generated archive (bench/site_dataset.py: realistic
lengths, 70 % with photos, Spanish and English) and compresses each page as a
web server would (gzip level 6; level 9 alongside). Reference in the same run:
the 14 KB goal (14,336 bytes), and the page's own size before compression.

    python bench/site_weight.py [--dispatches 2000]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

import site_dataset  # noqa: E402
from common import git_revision, record, setup  # noqa: E402

GOAL = 14 * 1024


def size(path: Path, level: int) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=level, mtime=0))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dispatches", type=int, default=2000)
    args = parser.parse_args()
    setup("sqlite")
    with tempfile.TemporaryDirectory(prefix="minga-bench-weight-") as tmp:
        work = Path(tmp)
        dataset = site_dataset.generate(args.dispatches, work / "dataset")
        store = site_dataset.write_store(dataset)
        from django.conf import settings

        from minga.blobs.storage import BlobStore
        from minga.publish.catalogue import Catalogue
        from minga.publish.identity import outlet_key
        from minga.publish.site.builder import SiteBuilder

        out = work / "site"
        SiteBuilder(
            Catalogue.load(store.outlet, site_dataset.OUTLET_NAME),
            out,
            BlobStore(settings.MINGA.data_path / "blobs"),
            outlet_key=outlet_key(),
        ).build_all()
        dispatches = sorted(out.glob("d/*/index.html"))
        six = sorted(size(p, 6) for p in dispatches)
        largest = max(dispatches, key=lambda p: size(p, 6))
        lists = [p for p in out.rglob("index.html") if p.parent.parent.name != "d"]
        heaviest_list = max(lists, key=lambda p: size(p, 6))
        home = out / "index.html"
        result = {
            "revision": git_revision(),
            "dispatches": args.dispatches,
            "home_gzip6": size(home, 6),
            "home_gzip9": size(home, 9),
            "home_raw": home.stat().st_size,
            "dispatch_gzip6_median": int(statistics.median(six)),
            "dispatch_gzip6_p90": six[int(0.9 * (len(six) - 1))],
            "dispatch_gzip6_max": six[-1],
            "dispatch_raw_median": int(statistics.median(p.stat().st_size for p in dispatches)),
            "largest_dispatch": largest.relative_to(out).as_posix(),
            "heaviest_list_page": heaviest_list.relative_to(out).as_posix(),
            "heaviest_list_gzip6": size(heaviest_list, 6),
            "edition_bytes": (out / "edition.html").stat().st_size,
            "goal_bytes": GOAL,
            "ratio_home_to_goal": round(size(home, 6) / GOAL, 2),
            "ratio_dispatch_median_to_goal": round(statistics.median(six) / GOAL, 2),
            "ratio_dispatch_max_to_goal": round(six[-1] / GOAL, 2),
            "dispatches_over_goal": sum(1 for s in six if s > GOAL),
        }
    record("site_weight", result)


if __name__ == "__main__":
    main()
