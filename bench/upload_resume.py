"""An upload cut five times: how many bytes the phone sends in all.

The reporter's app (tus-js-client in Chromium, 1 MB chunks) uploads a large
photo through a proxy that drops the connection five times. Reference: the
issue's bound, the file plus one chunk again per interruption.

    python bench/upload_resume.py [--megabytes 40]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT.parent)]

from tests.proxy import cutting_proxy  # noqa: E402

from common import git_revision, record  # noqa: E402
from node import chromium, demo_node, sign_in  # noqa: E402

CHUNK = 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=40)
    args = parser.parse_args()
    import numpy as np
    from PIL import Image

    folder = Path(tempfile.mkdtemp(prefix="minga-bench-upload-"))
    photo = folder / "grande.jpg"
    side = int((args.megabytes * 1e6 / 2.2) ** 0.5)
    rng = np.random.default_rng(7)
    Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8)).save(photo, quality=97)
    size = photo.stat().st_size
    with demo_node() as base, chromium() as browser:
        port = int(base.rsplit(":", 1)[1])
        cuts = [size * n // 6 + 123_457 for n in range(1, 6)]
        with cutting_proxy(port, cuts) as proxy:
            proxied = f"http://127.0.0.1:{proxy.port}"
            context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
            page = context.new_page()
            sign_in(page, proxied, "rosa")
            page.goto(f"{proxied}/r/")
            before = proxy.sent_up
            page.uncheck("#blur")
            page.fill("#body", "foto pesada")
            page.set_input_files("#files", str(photo))
            started = time.perf_counter()
            page.click("#send")
            page.wait_for_selector("#outbox li[data-state=sent]", timeout=600_000)
            elapsed = time.perf_counter() - started
            sent = proxy.sent_up - before
            cuts_done = len(proxy.done_cuts)
            context.close()
    digest = hashlib.sha256(photo.read_bytes()).hexdigest()
    bound = size + cuts_done * CHUNK
    record(
        "upload_resume",
        {
            "revision": git_revision(),
            "file_bytes": size,
            "file_sha256": digest,
            "interruptions": cuts_done,
            "bytes_sent": sent,
            "sent_again_bytes": sent - size,
            "bound_bytes": bound,
            "ratio_to_bound": round(sent / bound, 3),
            "seconds": round(elapsed, 1),
        },
    )


if __name__ == "__main__":
    main()
