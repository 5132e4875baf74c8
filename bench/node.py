"""A demo node in its own process and Chromium, for the browser benchmarks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

PASSWORD = "minga-demo-2026"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def demo_node(**settings: str) -> Iterator[str]:
    """`minga demo` data in a temporary folder, served by `minga serve`; yields its URL."""
    with demo_node_data(**settings) as (base, _data, _env):
        yield base


@contextmanager
def demo_node_data(**settings: str) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """As demo_node, also yielding the data folder and the node's environment."""
    data = tempfile.mkdtemp(prefix="minga-bench-node-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINGA_")}
    env.update({"MINGA_DATA_DIR": data, "MINGA_PORT": str(port), "MINGA_LOG_LEVEL": "warning"})
    env.update({f"MINGA_{k.upper()}": v for k, v in settings.items()})
    subprocess.run(
        [sys.executable, "-m", "minga", "demo", "--no-serve", "--port", str(port)],
        env=env,
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "minga", "serve"], env=env, stdout=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(f"{base}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base, Path(data), env
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def shape(page: Any, kbit: int, latency_ms: int) -> None:
    """Throttle this page's network like a bad mobile link (Chromium's own emulation)."""
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    rate = kbit * 1000 / 8
    session.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": latency_ms,
            "downloadThroughput": rate,
            "uploadThroughput": rate,
        },
    )


def sign_in_quietly(context: Any, base: str, username: str) -> None:
    """Sign in through HTTP only, without visiting any page (for cold-cache figures)."""
    import re

    page = context.request.get(f"{base}/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text()).group(1)
    answer = context.request.post(
        f"{base}/login/?next=/healthz",
        form={"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD},
        headers={"Referer": f"{base}/login/"},
    )
    assert answer.ok, answer.status
