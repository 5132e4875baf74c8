"""Bytes on the wire to open the reporter's compose page and the desk timeline.

Counted by Chromium itself (CDP ``encodedDataLength`` of every response: the
compressed bytes, headers included), cold (empty cache) and warm (a second
visit, when the browser cache and, for the compose page, the service worker
answer). Reference: the issue's goal for the compose page, 100 KB cold with
its scripts.

    python bench/page_weight.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import git_revision, record
from node import chromium, demo_node, sign_in_quietly

GOAL = 100 * 1024


def weigh(page, url: str) -> tuple[int, list[tuple[str, int]]]:
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    # The compose page's service worker would fetch the page itself (out of
    # this page's sight): let the page fetch everything, the HTTP cache answer.
    session.send("Network.setBypassServiceWorker", {"bypass": True})
    sizes: dict[str, int] = {}
    urls: dict[str, str] = {}
    session.on(
        "Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"])
    )
    session.on(
        "Network.loadingFinished",
        lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])),
    )
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(300)
    session.detach()
    items = sorted(((urls.get(k, k), v) for k, v in sizes.items()), key=lambda kv: -kv[1])
    return sum(v for _, v in items), items


def main() -> None:
    result: dict[str, object] = {"revision": git_revision(), "goal_bytes": GOAL}
    with demo_node() as base, chromium() as browser:
        for label, user, path in (("compose", "rosa", "/r/"), ("desk", "lucia", "/desk/")):
            context = browser.new_context(viewport={"width": 390, "height": 844})
            sign_in_quietly(context, base, user)  # nothing cached, no service worker yet
            page = context.new_page()
            cold, cold_items = weigh(page, base + path)
            warm, warm_items = weigh(page, base + path)
            result[label] = {
                "cold_bytes": cold,
                "warm_bytes": warm,
                "cold_ratio_to_goal": round(cold / GOAL, 2),
                "cold_parts": [(u.replace(base, ""), n) for u, n in cold_items],
                "warm_parts": [(u.replace(base, ""), n) for u, n in warm_items],
            }
            context.close()
    record("page_weight", result)


if __name__ == "__main__":
    main()
