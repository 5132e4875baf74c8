"""An upload cut five times: how many bytes the phone sends twice.

The reporter's app (tus-js-client in Chromium, 1 MB chunks) uploads a large
photo, or with --video a large H.264 clip, through a proxy that drops the
connection five times. The figure is the request-body bytes sent beyond the
file (bytes sent twice, plus the item's small JSON), as a ratio to the issue's
bound of one chunk per interruption; request heads (some 800 bytes each) are
counted apart. The run ends when the node has processed the file (metadata
stripped) and the item shows as sent.

    python bench/upload_resume.py [--megabytes 40]
    python bench/upload_resume.py --video --megabytes 500
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


def big_photo(folder: Path, megabytes: int) -> Path:
    import numpy as np
    from PIL import Image

    photo = folder / "grande.jpg"
    side = int((megabytes * 1e6 / 2.2) ** 0.5)
    rng = np.random.default_rng(7)
    Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8)).save(photo, quality=97)
    return photo


def big_video(folder: Path, megabytes: int) -> Path:
    """Lossless H.264 of noise: about 1.2 MB a frame at 1280x720, with sound."""
    from tests.samples import ffmpeg

    clip = folder / "grande.mp4"
    frames = max(2, megabytes * 1_000_000 // 1_200_000)
    ffmpeg(
        "-f", "lavfi", "-i", "nullsrc=s=1280x720:r=25,geq=random(1)*255:128:128",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
        "-frames:v", str(frames), "-shortest",
        "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-metadata", "location=+12.0463-077.0428/", str(clip),
    )  # fmt: skip
    return clip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=40)
    parser.add_argument("--video", action="store_true", help="upload a video, not a photo")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="minga-bench-upload-") as tmp:
        run(Path(tmp), args.megabytes, args.video)


def run(folder: Path, megabytes: int, video: bool) -> None:
    photo = big_video(folder, megabytes) if video else big_photo(folder, megabytes)
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
            before = (proxy.sent_up, proxy.head_bytes, proxy.body_bytes, proxy.requests)
            page.uncheck("#blur")
            page.fill("#body", "foto pesada")
            page.set_input_files("#files", str(photo))
            started = time.perf_counter()
            page.click("#send")
            page.wait_for_selector("#outbox li[data-state=sent]", timeout=1_800_000)
            elapsed = time.perf_counter() - started
            sent = proxy.sent_up - before[0]
            heads = proxy.head_bytes - before[1]
            bodies = proxy.body_bytes - before[2]
            requests = proxy.requests - before[3]
            cuts_done = len(proxy.done_cuts)
            context.close()
    digest = hashlib.sha256(photo.read_bytes()).hexdigest()
    bound = cuts_done * CHUNK
    record(
        "upload_resume",
        {
            "revision": git_revision(),
            "file": "video" if video else "photo",
            "file_bytes": size,
            "file_sha256": digest,
            "interruptions": cuts_done,
            "bytes_sent": sent,
            "sent_again_bytes": sent - size,
            "requests": requests,
            "request_head_bytes": heads,
            "request_body_bytes": bodies,
            "body_bytes_sent_again": bodies - size,
            "bound_bytes": bound,
            "ratio_to_bound": round((bodies - size) / bound, 3),
            "seconds": round(elapsed, 1),
        },
    )


if __name__ == "__main__":
    main()
