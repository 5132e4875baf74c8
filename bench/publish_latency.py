"""Time from the desk's "publish" to the dispatch present and verified in a folder
mirror and in the feeds.

A demo node runs as its own process with a folder deploy target. A reporter
files a dispatch over HTTP (/r/file), the editor presses "publish" (POST
/desk/story/<pk>/publish); the clock runs from that request until (a) the
node's own feed has the dispatch, (b) the mirror folder holds its page and
feed, and `minga verify` finds the mirror intact against the newest manifest
that lists the page. Reference in the same run: a whole build of the same
site (`minga publish build`, its own timing), what a publisher that rebuilds
everything would pay before copying a single file.

    python bench/publish_latency.py [--samples 10]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT.parent / "src")]

from common import git_revision, record  # noqa: E402
from minga.publish.verify import verify  # noqa: E402
from node import PASSWORD, demo_node_data  # noqa: E402


def signed_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=True)
    page = client.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = client.post(
        "/login/?next=/healthz",
        data={"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD},
        headers={"Referer": f"{base}/login/"},
    )
    answer.raise_for_status()
    return client


def csrf(client: httpx.Client) -> dict[str, str]:
    return {"X-CSRFToken": client.cookies["csrftoken"], "Referer": str(client.base_url) + "/"}


def until(check, timeout: float = 60.0) -> float:
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise TimeoutError("the dispatch did not arrive")
        time.sleep(0.005)
    return time.perf_counter()


def mirrored(mirror: Path, title: str) -> bool:
    """The mirror has the page and the feed, and verifies against its manifest."""
    feed = mirror / "feed.atom"
    if not feed.is_file() or title not in feed.read_text():
        return False
    if not any(title in p.read_text() for p in mirror.glob("d/*/index.html")):
        return False
    try:
        return verify(str(mirror)).intact
    except Exception:  # a manifest being replaced this very moment
        return False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=10)
    args = parser.parse_args()
    mirror = Path(tempfile.mkdtemp(prefix="minga-bench-mirror-"))
    samples: dict[str, list[float]] = {"request": [], "feed": [], "mirror_verified": []}
    with demo_node_data(publish_targets=f"folder:{mirror}") as (base, data, env):
        rosa, lucia = signed_in(base, "rosa"), signed_in(base, "lucia")
        for n in range(args.samples):
            title = f"Despacho de prueba {n} {uuid.uuid4().hex[:8]}"
            filed = rosa.post(
                "/r/file",
                json={
                    "kind": "dispatch",
                    "client_id": str(uuid.uuid4()),
                    "title": title,
                    "body": "La marcha sigue por la avenida. " * 40,
                    "language": "es",
                    "place": "Lima",
                    "hashtags": "paronacional",
                },
                headers=csrf(rosa),
            )
            filed.raise_for_status()
            desk = lucia.get("/desk/").text
            pk = re.search(rf'href="/desk/story/(\d+)/">{re.escape(title)}<', desk).group(1)
            started = time.perf_counter()
            answer = lucia.post(
                f"/desk/story/{pk}/publish", headers=csrf(lucia), follow_redirects=False
            )
            samples["request"].append(time.perf_counter() - started)
            assert answer.status_code == 302, answer.status_code
            feed_at = until(lambda t=title: t in httpx.get(f"{base}/site/feed.atom").text)
            samples["feed"].append(feed_at - started)
            samples["mirror_verified"].append(until(lambda t=title: mirrored(mirror, t)) - started)
        full = full_build_seconds(env, data)
    shutil.rmtree(mirror, ignore_errors=True)
    result: dict[str, object] = {"revision": git_revision(), "samples": args.samples}
    for name, values in samples.items():
        result[f"{name}_ms_p50"] = round(statistics.median(values) * 1000, 1)
        result[f"{name}_ms_max"] = round(max(values) * 1000, 1)
    result["full_build_ms"] = round(full * 1000, 1)
    result["ratio_mirror_to_full_build"] = round(
        statistics.median(samples["mirror_verified"]) / full, 2
    )
    record("publish_latency", result)


def full_build_seconds(env: dict[str, str], data: Path) -> float:
    """`minga publish build` of the same site into an empty folder (its own timing)."""
    out = data / "full-build"
    done = subprocess.run(
        [sys.executable, "-m", "minga", "publish", "build", "--out", str(out)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(re.search(r" in ([0-9.]+) s", done.stdout).group(1))


if __name__ == "__main__":
    main()
