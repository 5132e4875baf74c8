"""Node ↔ node replication between real `minga serve` processes on loopback.

Each node has its own data folder and database (its own PostgreSQL database
when MINGA_TEST_DATABASE_URL is set); they share the outlet key, as the nodes
of one collective do, and trust each other's node keys (setting ``peers``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from minga.blobs.auth import encode_header
from minga.events.signing import SecretKey, sign_event
from tests.fixtures import free_port, stop_process, wait_http

pytestmark = pytest.mark.slow


class Node:
    def __init__(self, root: Path, name: str, outlet_file: Path) -> None:
        self.name = name
        self.data = root / name
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MINGA_")}
        self.env.update(
            {
                "MINGA_DATA_DIR": str(self.data),
                "MINGA_PORT": str(self.port),
                "MINGA_LOG_LEVEL": "info",
                "MINGA_SYNC_INTERVAL": "3",
            }
        )
        self.dbname: str | None = None
        test_url = os.environ.get("MINGA_TEST_DATABASE_URL")
        if test_url:
            import psycopg

            self.dbname = f"minga_sync_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(test_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.dbname}"')
            self.env["MINGA_DATABASE_URL"] = f"{test_url.rpartition('/')[0]}/{self.dbname}"
        done = self.minga("init", "--outlet", "Prueba", "--outlet-key-file", str(outlet_file))
        self.npub = next(
            line.split()[-1] for line in done.stdout.splitlines() if line.startswith("node key")
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def relay(self) -> str:
        return f"ws://127.0.0.1:{self.port}/relay"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def minga(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "minga", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )

    def start(self, peers: list[Node]) -> None:
        env = dict(self.env)
        env["MINGA_PEERS"] = ",".join(f"{p.relay} {p.npub}" for p in peers)
        with (self.data.parent / f"{self.name}.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "minga", "serve"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_http(f"{self.base}/healthz", timeout=60)
        except Exception as exc:
            raise AssertionError(f"{self.name} did not start:\n{self.log_tail()}") from exc

    def stop(self) -> None:
        stop_process(self.proc, timeout=20)
        self.proc = None

    def drop(self) -> None:
        self.stop()
        if self.dbname:
            import psycopg

            with psycopg.connect(os.environ["MINGA_TEST_DATABASE_URL"], autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')

    def log_tail(self) -> str:
        path = self.data.parent / f"{self.name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    # -- reading the node as a client would ----------------------------------------

    def ids(self, outlet: SecretKey, node_key: SecretKey | None = None) -> set[str]:
        """Every event id the relay serves to the outlet key (a member: private too)."""
        with connect(self.relay, open_timeout=10) as ws:
            challenge = json.loads(ws.recv(timeout=10))[1]
            auth = sign_event(outlet, 22242, "", [["relay", self.relay], ["challenge", challenge]])
            ws.send(json.dumps(["AUTH", auth.to_dict()]))
            json.loads(ws.recv(timeout=10))
            ws.send(json.dumps(["REQ", "all", {"limit": 1000}]))
            found = set()
            while True:
                message = json.loads(ws.recv(timeout=30))
                if message[0] == "EVENT":
                    found.add(message[2]["id"])
                elif message[0] in ("EOSE", "CLOSED"):
                    return found

    def store_ids(self) -> list[str]:
        """Every stored row's id, straight from the database."""
        if self.dbname:
            import psycopg

            url = self.env["MINGA_DATABASE_URL"]
            with psycopg.connect(url) as conn:
                return [r[0] for r in conn.execute("SELECT id FROM minga_event")]
        db = sqlite3.connect(f"file:{self.data / 'minga.sqlite3'}?mode=ro", uri=True)
        try:
            return [r[0] for r in db.execute("SELECT id FROM minga_event")]
        finally:
            db.close()


def publish(node: Node, *events: Any) -> None:
    with connect(node.relay, open_timeout=10) as ws:
        ws.recv(timeout=10)
        for event in events:
            ws.send(json.dumps(["EVENT", event.to_dict()]))
            answer = json.loads(ws.recv(timeout=30))
            assert answer[0] == "OK"
            assert answer[2] is True, answer


def eventually(check: Callable[[], bool], nodes: list[Node], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    logs = "\n".join(f"--- {n.name}\n{n.log_tail()}" for n in nodes)
    raise AssertionError(f"not converged in {timeout} s\n{logs}")


@pytest.fixture
def collective(tmp_path: Path) -> Iterator[tuple[SecretKey, Callable[[str], Node]]]:
    outlet = SecretKey.generate()
    key_file = tmp_path / "outlet.key"
    key_file.write_text(outlet.hex())
    key_file.chmod(0o600)
    made: list[Node] = []

    def make(name: str) -> Node:
        node = Node(tmp_path, name, key_file)
        made.append(node)
        return node

    try:
        yield outlet, make
    finally:
        for node in made:
            node.drop()


def same_stores(*nodes: Node) -> bool:
    stores = [node.store_ids() for node in nodes]
    return all(len(s) == len(set(s)) for s in stores) and all(
        set(s) == set(stores[0]) for s in stores
    )


def test_live_both_ways_private_included(collective):
    outlet, make = collective
    a, b = make("a"), make("b")
    a.start([b])
    b.start([a])
    note = sign_event(outlet, 1, "la marcha llega a la plaza", [])
    draft = sign_event(outlet, 30024, "borrador privado", [["d", "borrador-1"]])
    publish(a, note)
    publish(b, draft)
    eventually(lambda: {note.id, draft.id} <= set(b.store_ids()) & set(a.store_ids()), [a, b])
    eventually(lambda: same_stores(a, b), [a, b])
    # The private draft is replicated but still private on the other node.
    with connect(a.relay, open_timeout=10) as ws:
        ws.recv(timeout=10)
        ws.send(json.dumps(["REQ", "x", {"ids": [draft.id]}]))
        assert json.loads(ws.recv(timeout=10))[0] != "EVENT"


def test_catch_up_after_a_cut_sends_only_the_difference(collective):
    outlet, make = collective
    a, b = make("a"), make("b")
    a.start([b])
    b.start([a])
    first = sign_event(outlet, 1, "antes del corte", [])
    publish(a, first)
    eventually(lambda: first.id in b.store_ids(), [a, b])
    b.stop()
    during = [sign_event(outlet, 1, f"durante el corte {i}", []) for i in range(60)]
    # A superseded version travels too: every row, not only the current ones.
    profile_old = sign_event(outlet, 0, '{"name":"v1"}', [], created_at=int(time.time()) - 10)
    profile_new = sign_event(outlet, 0, '{"name":"v2"}', [])
    publish(a, *during, profile_old, profile_new)
    b.start([a])
    eventually(lambda: same_stores(a, b), [a, b])
    assert {e.id for e in during} | {profile_old.id} <= set(b.store_ids())


def test_one_way_peer_still_gets_both_directions(collective):
    """A laptop behind NAT knows the server; the server cannot reach it."""
    outlet, make = collective
    server, laptop = make("server"), make("laptop")
    server.start([])
    laptop.start([server])
    up = sign_event(outlet, 1, "desde la calle", [])
    down = sign_event(outlet, 1, "desde la redacción", [])
    publish(laptop, up)
    publish(server, down)
    eventually(lambda: same_stores(server, laptop), [server, laptop])
    assert {up.id, down.id} <= set(server.store_ids())


def test_blobs_follow_their_events(collective):
    outlet, make = collective
    a, b = make("a"), make("b")
    a.start([b])
    b.start([a])
    data = os.urandom(300_000)
    sha = hashlib.sha256(data).hexdigest()
    now = int(time.time())
    token = sign_event(
        outlet, 24242, "upload", [["t", "upload"], ["x", sha], ["expiration", str(now + 300)]]
    )
    put = httpx.put(
        f"{a.base}/upload",
        content=data,
        headers={"Authorization": encode_header(token), "Content-Type": "image/jpeg"},
        timeout=30,
    )
    assert put.status_code in (200, 201), put.text
    note = sign_event(
        outlet,
        1,
        "foto de la plaza",
        [["imeta", f"url {a.base}/{sha}.jpg", f"x {sha}", "m image/jpeg", f"size {len(data)}"]],
    )
    publish(a, note)

    def b_has_it() -> bool:
        got = httpx.get(f"{b.base}/{sha}", timeout=10)
        return got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == sha

    eventually(b_has_it, [a, b])
