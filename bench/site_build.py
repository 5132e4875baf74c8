"""Site build (issue 4): full build of 10,000 dispatches, minga against Pelican and Hugo.

One run generates the dataset (bench/site_dataset.py, not timed: the same
dispatches into a minga store, a Pelican project and a Hugo site), then times
full builds into a fresh output folder, best of ``--runs``:

* Pelican: ``pelican content -s pelicanconf.py`` (a subprocess, as people run
  it; its own "Processed ... in N seconds" is recorded too);
* Hugo (Debian's /usr/bin/hugo): ``hugo --quiet``, each run a new process
  with an empty output folder and cache folder;
* minga: ``Catalogue.load`` + ``SiteBuilder.build_all()`` in this process.

Pages are the HTML files written (Hugo's ``page/1/`` redirect stubs not
counted); pages per second = pages / seconds. ``ratio_to_pelican`` is
pelican_seconds / minga_seconds (> 1: minga is faster), ``ratio_to_hugo``
likewise. Then the incremental figure: 20 new dispatches, each signed,
stored and published by the desk (``workflow.publish``), and timed
``catalogue.refresh([key])`` + ``builder.update(changed)``: median and p90.
Without minga in ``--only`` the refresh alone is timed (no builder).

Goal (issue 4): full build faster than Pelican; one new dispatch published
into that archive in under 100 ms.

    python bench/site_build.py [--dispatches 10000] [--only minga,pelican,hugo]
                               [--backend sqlite|postgresql] [--runs 3]
"""

from __future__ import annotations

import argparse
import atexit
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import site_dataset
from common import drop_pg, git_revision, record, setup

HUGO = shutil.which("hugo") or "/usr/bin/hugo"
NEW_DISPATCHES = 20


def count_output(folder: Path) -> dict[str, int]:
    """HTML pages, feeds and every file written under ``folder``."""
    pages = feeds = files = size = 0
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        files += 1
        size += path.stat().st_size
        rel = path.relative_to(folder).as_posix()
        if rel.endswith(".html"):
            # Hugo writes page/1/ as a redirect to the list's first page: not a page.
            pages += not (rel == "page/1/index.html" or rel.endswith("/page/1/index.html"))
        elif re.search(r"(atom|rss|index|feed)\.(xml|json)$|\.(atom|rss)\.xml$", rel):
            feeds += 1
    return {"pages": pages, "feeds": feeds, "files": files, "bytes": size}


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _best(runs: list[dict[str, object]]) -> dict[str, object]:
    best = dict(min(runs, key=lambda r: float(r["seconds"])))  # type: ignore[arg-type]
    best["runs_seconds"] = [r["seconds"] for r in runs]
    best["pages_per_second"] = round(int(best["pages"]) / float(best["seconds"]))  # type: ignore[arg-type]
    return best


def time_pelican(site: Path, work: Path, runs: int) -> dict[str, object]:
    pelican = Path(sys.executable).with_name("pelican")
    results = []
    for _ in range(runs):
        out = _fresh(work / "pelican-output")
        started = time.perf_counter()
        done = subprocess.run(
            [str(pelican), "content", "-s", "pelicanconf.py", "-o", str(out), "-q"],
            cwd=site,
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = time.perf_counter() - started
        said = re.search(r"in ([\d.]+) seconds", " ".join(done.stdout.split()))
        results.append(
            {
                "seconds": round(seconds, 3),
                "own_seconds": float(said.group(1)) if said else None,
                **count_output(out),
            }
        )
        print(f"  pelican: {results[-1]}", file=sys.stderr, flush=True)
    return _best(results)


def time_hugo(site: Path, work: Path, runs: int) -> dict[str, object]:
    results = []
    for _ in range(runs):
        out = _fresh(work / "hugo-output")
        cache = _fresh(work / "hugo-cache")
        shutil.rmtree(site / "resources", ignore_errors=True)
        started = time.perf_counter()
        subprocess.run(
            [HUGO, "--quiet", "-d", str(out), "--cacheDir", str(cache)],
            cwd=site,
            check=True,
        )
        seconds = time.perf_counter() - started
        results.append({"seconds": round(seconds, 3), **count_output(out)})
        print(f"  hugo: {results[-1]}", file=sys.stderr, flush=True)
    return _best(results)


def check_store(outlet: str, dataset: site_dataset.Dataset) -> dict[str, object]:
    """The store side of the dataset reads back as N public items with their media."""
    from minga.publish.catalogue import Catalogue

    started = time.perf_counter()
    catalogue = Catalogue.load(outlet, site_dataset.OUTLET_NAME)
    seconds = time.perf_counter() - started
    public = catalogue.public()
    want = dataset.dispatches
    found = {
        "items": len(public),
        "with_media": sum(bool(i.media) for i in public),
        "with_two_photos": sum(len(i.media) == 2 for i in public),
        "variants": sum(len(m.variants) for i in public for m in i.media),
        "translations": sum(bool(i.translation_of) for i in public),
        "authors_named": sum(catalogue.authors[i.author].name in dataset.reporters for i in public),
        "numbers": sorted(i.number for i in public if i.number is not None)
        == list(range(len(want))),
    }
    expected = {
        "items": len(want),
        "with_media": sum(bool(d.photos) for d in want),
        "with_two_photos": sum(len(d.photos) == 2 for d in want),
        "variants": 3 * sum(len(d.photos) for d in want),
        "translations": sum(d.translation_of is not None for d in want),
        "authors_named": len(want),
        "numbers": True,
    }
    if found != expected:
        raise SystemExit(f"the store does not read back as generated: {found} != {expected}")
    return {**found, "catalogue_load_seconds": round(seconds, 3)}


def time_minga(outlet: str, work: Path, runs: int) -> tuple[dict[str, object], object, object]:
    from django.conf import settings

    from minga.blobs.storage import BlobStore
    from minga.publish.catalogue import Catalogue
    from minga.publish.identity import outlet_key
    from minga.publish.site.builder import SiteBuilder

    blobs = BlobStore(settings.MINGA.data_path / "blobs")
    key = outlet_key()  # the site is signed, as the node signs it
    results = []
    catalogue = builder = None
    for _ in range(runs):
        out = _fresh(work / "minga-output")
        started = time.perf_counter()
        catalogue = Catalogue.load(outlet, site_dataset.OUTLET_NAME)
        loaded = time.perf_counter()
        builder = SiteBuilder(catalogue, out, blobs, outlet_key=key)
        report = builder.build_all()
        seconds = time.perf_counter() - started
        results.append(
            {
                "seconds": round(seconds, 3),
                "load_seconds": round(loaded - started, 3),
                "build_seconds": round(seconds - (loaded - started), 3),
                "report_pages": getattr(report, "pages", None),
                "report_files_written": getattr(report, "files_written", None),
                **count_output(out),
            }
        )
        print(f"  minga: {results[-1]}", file=sys.stderr, flush=True)
    return _best(results), catalogue, builder


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_incremental(
    dataset: site_dataset.Dataset, store: site_dataset.StoreInfo, catalogue, builder, work: Path
) -> dict[str, object]:
    """Publish new dispatches one by one; time refresh (+ update when there is a builder)."""
    from django.conf import settings

    from minga.events.kinds import FILE_METADATA, LONG_FORM
    from minga.events.signing import SecretKey, sign_event
    from minga.newsroom import workflow
    from minga.publish.catalogue import Catalogue
    from minga.store.ingest import ingest

    if catalogue is None:
        catalogue = Catalogue.load(store.outlet, site_dataset.OUTLET_NAME)
    base_url = settings.MINGA.base_url
    rng = random.Random(dataset.seed + 1)
    keys = [SecretKey(s) for s in dataset.reporter_secrets]
    publish_ms, refresh_ms, update_ms, total_ms, manifest_ms = [], [], [], [], []
    for i in range(NEW_DISPATCHES):
        now = int(time.time())
        d = site_dataset.make_dispatch(rng, len(dataset.dispatches) + i, now, len(dataset.photos))
        key = keys[d.reporter]
        records = [
            sign_event(
                key,
                FILE_METADATA,
                "",
                site_dataset.media_record_tags(dataset.photos[p], alt, base_url),
                now - 60,
            )
            for p, alt in zip(d.photos, d.alts, strict=True)
        ]
        tags = site_dataset.dispatch_tags(d, dataset.photos, base_url)
        event = sign_event(key, LONG_FORM, d.body, tags, now - 30)
        for outcome in ingest([*records, event]):
            assert outcome.ok, outcome.message
        started = time.perf_counter()
        publication = workflow.publish(event.address, store.editor)
        published = time.perf_counter()
        changed = catalogue.refresh([event.address])
        refreshed = time.perf_counter()
        report = builder.update(changed) if builder is not None else None
        done = time.perf_counter()
        if report is not None and report.manifest is not None:
            # As the node's publisher does next: the manifest into the store.
            stored = ingest([report.manifest])[0]
            assert stored.ok, stored.message
            manifest_ms.append((time.perf_counter() - done) * 1000)
        assert event.address in changed, "the new dispatch did not reach the catalogue"
        item = catalogue.items[event.address]
        assert item.number == publication.number
        assert len(item.media) == len(d.photos)
        if builder is not None:
            page = work / "minga-output" / item.slug / "index.html"
            assert page.is_file(), f"the update did not write {page}"
        publish_ms.append((published - started) * 1000)
        refresh_ms.append((refreshed - published) * 1000)
        update_ms.append((done - refreshed) * 1000)
        total_ms.append((done - published) * 1000)

    def summary(samples: list[float]) -> dict[str, float]:
        return {
            "median": round(statistics.median(samples), 2),
            "p90": round(_percentile(samples, 0.9), 2),
            "max": round(max(samples), 2),
        }

    result: dict[str, object] = {
        "new_dispatches": NEW_DISPATCHES,
        "publish_ms": summary(publish_ms),
        "refresh_ms": summary(refresh_ms),
    }
    if builder is not None:
        result["update_ms"] = summary(update_ms)
        result["refresh_and_update_ms"] = summary(total_ms)
    if manifest_ms:
        result["store_manifest_ms"] = summary(manifest_ms)
    return result


def _versions() -> dict[str, str]:
    import pelican

    hugo = subprocess.run([HUGO, "version"], capture_output=True, text=True).stdout.split()
    return {"pelican": pelican.__version__, "hugo": hugo[1] if len(hugo) > 1 else "unknown"}


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through finally and atexit: temp folders go


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dispatches", type=int, default=10_000)
    parser.add_argument("--only", default="minga,pelican,hugo")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=3, help="full builds of each, best counts")
    parser.add_argument("--per-page", type=int, default=site_dataset.PER_PAGE)
    parser.add_argument("--feed-items", type=int, default=site_dataset.FEED_ITEMS)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    if not only <= {"minga", "pelican", "hugo"}:
        parser.error("--only takes minga, pelican and hugo")

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in background
    work = Path(tempfile.mkdtemp(prefix="minga-bench-site-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    _, dbname = setup(args.backend)
    try:
        result: dict[str, object] = {
            "revision": git_revision(),
            "backend": args.backend,
            "dispatches": args.dispatches,
            "per_page": args.per_page,
            "feed_items": args.feed_items,
            "versions": _versions(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        }
        started = time.perf_counter()
        dataset = site_dataset.generate(args.dispatches, work, args.seed)
        site_dataset.write_pelican(dataset, work / "pelican", args.per_page, args.feed_items)
        site_dataset.write_hugo(dataset, work / "hugo", args.per_page, args.feed_items)
        store = site_dataset.write_store(dataset)
        result["dataset"] = {
            **dataset.stats(),
            "generate_seconds": round(time.perf_counter() - started, 1),
            "store_seconds": round(store.seconds, 1),
            "store_events": store.events,
        }
        result["store_check"] = check_store(store.outlet, dataset)
        print(f"dataset: {result['dataset']}", file=sys.stderr, flush=True)

        figures: dict[str, dict[str, object]] = {}
        if "pelican" in only:
            figures["pelican"] = time_pelican(work / "pelican", work, args.runs)
        if "hugo" in only:
            figures["hugo"] = time_hugo(work / "hugo", work, args.runs)
        catalogue = builder = None
        if "minga" in only:
            figures["minga"], catalogue, builder = time_minga(store.outlet, work, args.runs)
        for name, f in figures.items():
            result[f"{name}_seconds"] = f["seconds"]
            result[f"{name}_pages"] = f["pages"]
            result[f"{name}_pages_per_second"] = f["pages_per_second"]
            result[name] = f
        minga = figures.get("minga")
        for ref in ("pelican", "hugo"):
            if minga and ref in figures:
                ratio = float(figures[ref]["seconds"]) / float(minga["seconds"])  # type: ignore[arg-type]
                result[f"ratio_to_{ref}"] = round(ratio, 2)
        result["load_average_after_builds"] = [round(x, 2) for x in os.getloadavg()]
        incremental = time_incremental(dataset, store, catalogue, builder, work)
        result["incremental"] = incremental
        if builder is not None:
            both = incremental["refresh_and_update_ms"]
            result["incremental_ms_median"] = both["median"]  # type: ignore[index]
            result["incremental_ms_p90"] = both["p90"]  # type: ignore[index]
        record("site_build", result)
    finally:
        drop_pg(dbname)


if __name__ == "__main__":
    main()
