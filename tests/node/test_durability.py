"""Crash in the middle, restart, and the data is whole.

`kill -9` during a batch import and during live relay ingest: afterwards the
store is consistent (no half-written batch, every event with its tags) and
every event the node acknowledged is there.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from websockets.sync.client import connect

from minga.events import SecretKey, sign_event

BATCH = 1000


def _query(node_process, sql):
    url = node_process.env.get("MINGA_DATABASE_URL")
    if url:
        import psycopg

        with psycopg.connect(url) as conn:
            return conn.execute(sql).fetchone()
    import sqlite3

    conn = sqlite3.connect(node_process.data_dir / "minga.sqlite3", timeout=30)
    try:
        return conn.execute(sql).fetchone()
    finally:
        conn.close()


def stored_count(node_process) -> int:
    try:
        return int(_query(node_process, "SELECT COALESCE(MAX(seq), 0) FROM minga_event")[0])
    except Exception:  # the schema may not exist yet
        return 0


def store_stats(node_process):
    """(events, tag rows, events missing tags) read straight from the node's database."""
    sql = (
        "SELECT (SELECT COUNT(*) FROM minga_event WHERE kind = 1),"
        " (SELECT COUNT(*) FROM minga_tag t JOIN minga_event e ON e.seq = t.event_id WHERE e.kind = 1),"
        " (SELECT COUNT(*) FROM minga_event e WHERE e.kind = 1 AND NOT EXISTS"
        "   (SELECT 1 FROM minga_tag t WHERE t.event_id = e.seq AND t.name = 'p'))"
    )
    url = node_process.env.get("MINGA_DATABASE_URL")
    if url:
        import psycopg

        with psycopg.connect(url) as conn:
            return conn.execute(sql).fetchone()
    import sqlite3

    conn = sqlite3.connect(node_process.data_dir / "minga.sqlite3")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return conn.execute(sql).fetchone()
    finally:
        conn.close()


@pytest.mark.slow
def test_kill_during_batch_import_leaves_whole_batches(node_process, tmp_path):
    node_process.minga("init")
    keys = [SecretKey.generate() for _ in range(5)]
    total = 12 * BATCH
    source = tmp_path / "big.jsonl"
    with source.open("w") as out:
        for n in range(total):
            key = keys[n % 5]
            out.write(
                sign_event(
                    key, 1, f"despacho {n}", [["t", "paro"], ["p", keys[0].pubkey]]
                ).to_json()
                + "\n"
            )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "minga",
            "import",
            "--any-author",
            "--batch",
            str(BATCH),
            str(source),
        ],
        env=node_process.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while stored_count(node_process) < 2 * BATCH:
        assert proc.poll() is None, "the import ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    events, tags, missing = store_stats(node_process)
    assert 0 < events < total
    assert events % BATCH == 0, "a batch was half written"
    assert tags == 2 * events
    assert missing == 0
    # The same import again finishes the job without storing anything twice.
    done = node_process.minga("import", "--any-author", str(source))
    assert f"{total - events} stored, {events} already here, 0 refused" in done.stdout
    assert store_stats(node_process) == (total, 2 * total, 0)


@pytest.mark.slow
def test_kill_during_relay_ingest_loses_nothing_acknowledged(node_process):
    node_process.minga("init")
    reporter = SecretKey.generate()
    node_process.minga("roster", "add", reporter.pubkey)
    node_process.env["MINGA_EVENT_RATE"] = "100000"
    node_process.env["MINGA_EVENT_BURST"] = "100000"
    node_process.start()
    events = [
        sign_event(reporter, 1, f"en vivo {n}", [["t", "x"], ["p", reporter.pubkey]])
        for n in range(20000)
    ]
    acknowledged: list[str] = []

    def publish() -> None:
        try:
            with connect(node_process.relay_url, open_timeout=10) as ws:
                ws.recv(timeout=10)  # AUTH challenge

                def read() -> None:
                    try:
                        while True:
                            message = json.loads(ws.recv(timeout=30))
                            if message[0] == "OK" and message[2]:
                                acknowledged.append(message[1])
                    except Exception:
                        return

                reader = threading.Thread(target=read)
                reader.start()
                for event in events:
                    ws.send(json.dumps(["EVENT", event.to_dict()]))
                reader.join()
        except Exception:
            return

    client = threading.Thread(target=publish)
    client.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 2000:
        assert time.monotonic() < deadline, "the relay acknowledged too little"
        time.sleep(0.01)
    os.kill(node_process.proc.pid, signal.SIGKILL)
    node_process.proc.wait()
    client.join(timeout=60)
    seen = set(acknowledged)
    stored_before_restart = store_stats(node_process)
    assert stored_before_restart[2] == 0
    node_process.start()  # the node starts again on the same store
    found = node_process.minga(
        "events", json.dumps({"authors": [reporter.pubkey], "limit": 1000})
    ).stdout
    assert found.strip()
    exported = node_process.minga("export").stdout
    stored = {json.loads(line)["id"] for line in exported.splitlines()}
    assert seen <= stored, f"{len(seen - stored)} acknowledged events were lost"
