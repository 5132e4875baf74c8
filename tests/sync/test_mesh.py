"""Mesh radio: events over Reticulum/LXMF between real nodes.

The codec and the choice of what goes are tested in this process against the
real store. The network tests run every Reticulum instance in its own process
(Reticulum is one per process): a hub (tests/sync/mesh_node.py: TCP server
interface on loopback, transport, an LXMF propagation node and a stranger's
LXMF sender) and two `minga serve` nodes with mesh enabled, connected to the
hub as TCP clients.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect

from minga.events import sign_event
from minga.exceptions import ConfigError, InvalidInput, TooLarge
from minga.sync.mesh import codec
from tests.fixtures import NodeProcess, _admin_dsn, free_port

HUB = Path(__file__).with_name("mesh_node.py")


def framed(data: dict | bytes) -> bytes:
    """A payload as a sender would frame it, whatever the event inside says."""
    if isinstance(data, bytes):
        return codec.MAGIC + bytes(128) + zlib.compress(data)
    head = b"".join(bytes.fromhex(data[k]) for k in ("id", "pubkey", "sig"))
    body = [data["created_at"], data["kind"], data["tags"], data["content"]]
    return codec.MAGIC + head + zlib.compress(json.dumps(body).encode())


X = "ab" * 32  # a blob hash


# -- codec --------------------------------------------------------------------


def test_an_event_survives_the_trip_compressed(make_key):
    event = sign_event(make_key(), 1, "Marcha pacífica en la avenida Abancay " * 10)
    payload = codec.encode(event, 2000)
    assert len(payload) < len(event.to_json()) / 2
    assert codec.decode(payload) == event
    assert codec.payload_of(codec.fields(payload)) == payload


def test_an_event_over_the_limit_is_not_encoded(make_key):
    event = sign_event(make_key(), 1, os.urandom(3000).hex())
    with pytest.raises(TooLarge):
        codec.encode(event, 2000)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"hello",
        codec.MAGIC + bytes(128) + b"not deflate",
        framed(b"[1, 2"),
        framed(b'{"id": "nope"}'),
        framed(b'[1, 1, [], "x"]'),  # an id that is not the event's
        framed(b"[]")[:-3],  # truncated
        framed(b"\0" * 10_000_000),  # a bomb: ~10 KB inflating to 10 MB
        codec.MAGIC + os.urandom(codec.MAX_WIRE_BYTES),
    ],
)
def test_garbage_and_bombs_are_refused(payload):
    with pytest.raises((InvalidInput, TooLarge)):
        codec.decode(payload)


def test_a_changed_event_is_refused_by_its_id(make_key):
    data = sign_event(make_key(), 1, "original").to_dict()
    data["content"] = "forged"
    with pytest.raises(InvalidInput):
        codec.decode(framed(data))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.booleans())
def test_any_bytes_decode_or_are_refused_cleanly(data, wrap):
    payload = codec.MAGIC + bytes(128) + zlib.compress(data) if wrap else data
    with contextlib.suppress(InvalidInput, TooLarge):
        codec.decode(payload)


@pytest.mark.django_db
def test_a_forged_signature_passes_the_codec_but_not_the_store(make_key):
    from minga.store.ingest import ingest
    from minga.store.query import count

    key, other = make_key(), make_key()
    good = sign_event(key, 1, "firmado")
    forged = sign_event(other, 1, "firmado").to_dict()
    forged.update(pubkey=good.pubkey)  # someone else's signature on my name
    from minga.events.event import compute_id

    forged["id"] = compute_id(
        forged["pubkey"], forged["created_at"], 1, forged["tags"], forged["content"]
    )
    event = codec.decode(framed(forged))
    (outcome,) = ingest([event])
    assert not outcome.ok
    assert outcome.message.startswith("invalid:")
    assert count() == 0


def test_mesh_settings_are_checked():
    from minga import config

    cfg = config.load(
        {"mesh_destinations": f"{'a' * 32}, lxmf://{'B' * 32}:public", "data_dir": "x"}, env={}
    )
    assert cfg.mesh_destinations == (("a" * 32, True), ("b" * 32, False))
    for bad in ("abc", f"{'a' * 32}:everyone", "z" * 32):
        with pytest.raises(ConfigError):
            config.load({"mesh_destinations": bad}, env={})


# -- what goes ----------------------------------------------------------------


@pytest.mark.django_db
def test_what_goes_where(make_key, tmp_path):
    """Small events of the chosen kinds go; media, large or echoed ones do not;
    private ones only to the collective's nodes."""
    from minga import config
    from minga.events.validate import Limits
    from minga.store.visibility import Visibility
    from minga.sync.mesh.service import MeshService
    from minga.sync.models import MeshPost

    ours, public = "a" * 32, "b" * 32
    cfg = config.load(
        {"mesh_destinations": f"{ours},{public}:public", "data_dir": str(tmp_path)},
        env={},
    )
    visibility = Visibility(frozenset(cfg.private_kinds), frozenset(cfg.embargo_kinds))
    service = MeshService(cfg, visibility, Limits())
    key = make_key()
    note = sign_event(key, 1, "nota corta")
    media = sign_event(key, 1, "foto", [["imeta", f"url https://b.example/{X}.jpg", f"x {X}"]])
    large = sign_event(key, 1, os.urandom(2000).hex())
    draft = sign_event(key, 30024, "borrador", [["d", "x"]])
    wrap = sign_event(key, 1059, "check-in cifrado", [["p", key.pubkey]])
    reaction = sign_event(key, 7, "+")
    echoed = sign_event(key, 1, "llegó por radio")
    service.received[echoed.id] = None
    service.kinds = service.kinds | {30024}
    service.on_stored([note, media, large, draft, wrap, reaction, echoed], frozenset([wrap.id]))
    (task,) = list(service.tasks.queue)
    service._handle(task)
    sent = set(MeshPost.objects.values_list("destination", "event_id"))
    assert sent == {(ours, note.id), (public, note.id), (ours, draft.id), (ours, wrap.id)}


@pytest.mark.django_db
def test_posts_a_stop_interrupted_go_again(tmp_path):
    from minga import config
    from minga.events.validate import Limits
    from minga.publish.models import JobState
    from minga.store.visibility import Visibility
    from minga.sync.mesh.service import MeshService
    from minga.sync.models import Link, MeshPost

    dest, pn = "a" * 32, "c" * 32
    cfg = config.load(
        {"mesh_destinations": dest, "mesh_propagation_node": pn, "data_dir": str(tmp_path)},
        env={},
    )
    MeshPost.objects.create(destination=dest, event_id="e" * 64, state=JobState.RUNNING)
    MeshService(cfg, Visibility(frozenset()), Limits()).prepare()
    assert MeshPost.objects.get().state == JobState.PENDING
    urls = set(Link.objects.filter(role="mesh").values_list("url", flat=True))
    assert urls == {f"lxmf://{dest}", f"lxmf://{pn}"}


# -- over Reticulum -------------------------------------------------------------

RNS_CLIENT = """\
[reticulum]
  enable_transport = No
  share_instance = No
  panic_on_interface_error = No

[interfaces]
  [[hub]]
    type = TCPClientInterface
    enabled = Yes
    target_host = 127.0.0.1
    target_port = {port}
"""


class Hub:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, str(HUB), str(folder), str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        info = json.loads(self.proc.stdout.readline())
        self.propagation_node: str = info["propagation"]
        self.address: str = info["address"]

    def send(self, destination: str, payload: bytes) -> str:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(f"send {destination} {payload.hex()}\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


def _node(folder: Path, hub: Hub, databases: list[str]) -> NodeProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINGA_")}
    port = free_port()
    rns = folder / "reticulum"
    rns.mkdir(parents=True)
    (rns / "config").write_text(RNS_CLIENT.format(port=hub.port))
    env.update(
        MINGA_DATA_DIR=str(folder / "data"),
        MINGA_PORT=str(port),
        MINGA_LOG_LEVEL="info",
        MINGA_OPEN_WRITES="true",
        MINGA_MESH_ENABLED="true",
        MINGA_MESH_CONFIG_DIR=str(rns),
        MINGA_MESH_PROPAGATION_NODE=hub.propagation_node,
        MINGA_MESH_DIRECT_TIMEOUT="8",
    )
    test_url = os.environ.get("MINGA_TEST_DATABASE_URL")
    if test_url:
        import psycopg

        base, _ = _admin_dsn(test_url)
        name = f"minga_mesh_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(test_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        databases.append(name)
        env["MINGA_DATABASE_URL"] = f"{base}/{name}"
    return NodeProcess(folder / "data", port, env)


@pytest.fixture
def mesh(tmp_path) -> Iterator[tuple[Hub, NodeProcess, NodeProcess]]:
    hub = Hub(tmp_path / "hub")
    databases: list[str] = []
    nodes: list[NodeProcess] = []
    try:
        a = _node(tmp_path / "a", hub, databases)
        b = _node(tmp_path / "b", hub, databases)
        nodes += [a, b]
        address = {n.port: n.minga("mesh", "address").stdout.strip() for n in nodes}
        a.env["MINGA_MESH_DESTINATIONS"] = address[b.port]
        b.env["MINGA_MESH_DESTINATIONS"] = address[a.port]
        a.address, b.address = address[a.port], address[b.port]  # type: ignore[attr-defined]
        yield hub, a, b
    finally:
        for node in nodes:
            node.stop()
        hub.stop()
        test_url = os.environ.get("MINGA_TEST_DATABASE_URL")
        if databases and test_url:
            import psycopg

            with psycopg.connect(test_url, autocommit=True) as conn:
                for name in databases:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def publish(node: NodeProcess, event) -> None:
    with connect(node.relay_url) as ws:
        ws.recv(timeout=10)  # AUTH challenge
        ws.send(json.dumps(["EVENT", event.to_dict()]))
        assert json.loads(ws.recv(timeout=10)) == ["OK", event.id, True, ""]


def held(node: NodeProcess, ids: list[str]) -> set[str]:
    with connect(node.relay_url) as ws:
        ws.recv(timeout=10)
        ws.send(json.dumps(["REQ", "q", {"ids": ids}]))
        found = set()
        while True:
            message = json.loads(ws.recv(timeout=10))
            if message[0] == "EOSE":
                return found
            if message[0] == "EVENT":
                found.add(message[2]["id"])


def wait_for(check, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def status(node: NodeProcess) -> dict:
    return json.loads(node.minga("mesh", "status").stdout)


def start_both(*nodes: NodeProcess) -> None:
    for node in nodes:
        with node.log_path.open("ab") as log:
            node.proc = subprocess.Popen(
                [sys.executable, "-m", "minga", "serve"],
                env=node.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    for node in nodes:
        from tests.fixtures import wait_http

        wait_http(f"{node.base_url}/healthz", timeout=60)


@pytest.mark.slow
def test_direct_refused_and_store_and_forward(mesh, make_key):
    hub, a, b = mesh
    start_both(a, b)
    key = make_key()

    # Direct: a note filed on A reaches B; the one with a photo does not go.
    photo = sign_event(
        key, 1, "foto de la marcha", [["imeta", f"url https://b.example/{X}.jpg", f"x {X}"]]
    )
    note = sign_event(key, 1, "Marcha en la avenida Abancay: miles, sin incidentes.")
    publish(a, photo)
    publish(a, note)
    wait_for(lambda: held(b, [note.id]) == {note.id}, what="the note on B")
    assert held(b, [photo.id]) == set()
    assert status(a)["posts"] == {"done": 1}

    # A stranger's garbage, a forged event and a bomb store nothing; a good one does.
    forged = sign_event(key, 1, "real").to_dict()
    forged["content"] = "forged"
    bad_sig = sign_event(make_key(), 1, "x").to_dict()
    bad_sig["pubkey"] = key.pubkey
    from minga.events.event import compute_id

    bad_sig["id"] = compute_id(key.pubkey, bad_sig["created_at"], 1, [], "x")
    payloads = [
        b"garbage",
        framed(forged),
        framed(bad_sig),
        framed(b"\0" * 5_000_000),
    ]
    for payload in payloads:
        assert hub.send(b.address, payload) == "sent delivered"
    good = sign_event(make_key(), 1, "from a stranger's radio, signed")
    assert hub.send(b.address, codec.encode(good, 2000)) == "sent delivered"
    wait_for(lambda: held(b, [good.id]) == {good.id}, what="the good event on B")
    assert held(b, [forged["id"], bad_sig["id"]]) == set()

    # Store and forward: B is off the air; the note waits on the propagation node.
    b.stop()
    later = sign_event(key, 1, "Segunda nota, mientras B está apagado.")
    publish(a, later)
    wait_for(lambda: status(a)["posts"] == {"done": 2}, what="the post handed on")
    start_both(b)
    wait_for(lambda: held(b, [later.id]) == {later.id}, what="the note from the propagation node")
    assert status(b)["posts"] == {}  # what came in by radio is not sent back out
    for node in (a, b):
        assert "Traceback" not in node.log_path.read_text()
