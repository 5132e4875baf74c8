"""`minga serve` and `minga demo` as real processes."""

from __future__ import annotations

import json
import signal

import httpx
from websockets.sync.client import connect

from minga.events import SecretKey, sign_event
from minga.keys.nip19 import nsec_decode
from tests.sdk import run_client


def test_serve_starts_on_a_fresh_folder_and_stops_cleanly(node_process):
    node_process.env["MINGA_LOG_LEVEL"] = "info"
    node_process.start()  # no init: serve sets up the embedded default itself
    info = httpx.get(
        f"{node_process.base_url}/relay", headers={"Accept": "application/nostr+json"}
    ).json()
    assert info["limitation"]["restricted_writes"] is True
    assert httpx.get(f"{node_process.base_url}/").status_code == 200
    node_process.proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert node_process.proc.wait(timeout=20) in (0, -signal.SIGTERM)
    log = node_process.log_path.read_text()
    assert "Application shutdown complete" in log
    assert "Traceback" not in log


def test_demo_creates_an_outlet_that_a_client_can_use(node_process):
    node_process.env["MINGA_DATA_DIR"] = str(node_process.data_dir)
    done = node_process.minga("demo", "--no-serve", "--port", str(node_process.port))
    assert "Minga Noticias (demo)" in done.stdout
    assert f"relay        ws://127.0.0.1:{node_process.port}/relay" in done.stdout
    nsecs = [word for word in done.stdout.split() if word.startswith("nsec1")]
    assert len(nsecs) == 3
    again = node_process.minga("demo", "--no-serve", "--port", str(node_process.port))
    assert again.stdout.count("nsec1") == 3  # the same reporters, not new ones

    def titles(*flags: str) -> set[str]:
        listed = node_process.minga("events", *flags, '{"kinds": [30023]}').stdout.splitlines()
        return {t[1] for e in map(json.loads, listed) for t in e["tags"] if t[0] == "title"}

    published = titles()
    assert "Gases lacrimógenos en la plaza San Martín" in published
    # The two newest dispatches wait for the desk: not public yet.
    assert "Tear gas in San Martín square as night falls" not in published
    assert "Tear gas in San Martín square as night falls" in titles("--private")
    node_process.start()
    key = SecretKey.from_hex(nsec_decode(nsecs[0]))
    event = sign_event(key, 1, "desde el demo")
    with connect(node_process.relay_url) as ws:
        ws.recv(timeout=10)
        ws.send(json.dumps(["EVENT", event.to_dict()]))
        assert json.loads(ws.recv(timeout=10)) == ["OK", event.id, True, ""]
    page = httpx.get(f"{node_process.base_url}/").text
    assert "Puno: comuneros bloquean la carretera a Juliaca" in page
    # nostr-sdk, signing with a demo reporter's key, publishes and reads back.
    seen = run_client(node_process, key)
    assert seen["note_sent"] == [node_process.relay_url]
    assert seen["note_id"] in seen["fetched_notes"]
    assert seen["fetched_drafts"] == [seen["draft_id"]]
    assert seen["live_received"] is True
    assert seen["upload_status"] == 201
