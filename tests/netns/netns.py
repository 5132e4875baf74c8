"""Nodes of one collective, each in its own Linux network namespace, over street links.

A :class:`Street` makes one namespace per node (``<prefix>-<name>``, with a
random ``mg<hex4>`` prefix so parallel runs never meet), joins them through
the user-space link emulator of :mod:`tests.netns.linkemu` (the kernel here
has no ``sch_netem``), shapes the links, partitions and heals them, and starts,
stops and kills ``minga serve`` processes inside the namespaces. Everything
it made is removed by :meth:`Street.close` (call it from a ``finally`` or use
the street as a context manager), and leftovers of runs that died are removed
the next time a street opens.

Nodes use SQLite in their data folders: a PostgreSQL server on the host's
127.0.0.1 is not reachable from inside a namespace. Stores are compared by
reading those files read-only, and clients reach a node from inside its own
namespace (:func:`inside`), so the host's routing is never touched.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from websockets.sync.client import ClientConnection, connect

from minga.blobs.auth import encode_header
from minga.events import Event, SecretKey, sign_event
from minga.keys.nip19 import npub_decode
from tests.fixtures import stop_process

T = TypeVar("T")
LINKEMU = Path(__file__).with_name("linkemu.py")
MARKERS = Path("/tmp/minga-netns")  # one file per live street: its owner's pid
OWN_PREFIX = re.compile(r"^(mg[0-9a-f]{4})-")
CLONE_NEWNET = 0x40000000
PORT = 8000


@dataclass(frozen=True)
class Shape:
    """One-way properties of every link between two nodes."""

    rate: int = 0  # bits/s, 0 = unlimited
    delay: float = 0.0  # seconds, one way
    loss: float = 0.0  # 0..1
    limit: int = 96 * 1024  # bytes queued on one link before tail drop


STREET = Shape(rate=256_000, delay=0.300, loss=0.05)  # issue 5: 256 kbit/s, 300 ms, 5 %
CLEAR = Shape()


def unavailable() -> str | None:
    """Why namespaces cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed"
    if not Path("/dev/net/tun").exists():
        return "/dev/net/tun is missing (the link emulator needs TUN devices)"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"`ip netns` does not work here: {probe.stderr.strip()}"
    return None


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {result.stderr.strip()}")
    return result


_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def inside(ns: str) -> Iterator[None]:
    """Run the body with this thread in namespace ``ns``.

    A network namespace belongs to a thread, not the process, and a socket
    stays in the namespace it was made in: connections opened in the body
    keep working after it."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_namespace_processes(ns: str) -> None:
    """SIGKILL what still runs in ``ns`` (a namespace this harness made)."""
    pids = sh("ip", "netns", "pids", ns, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


def _remove_namespace(ns: str) -> None:
    _kill_namespace_processes(ns)
    sh("ip", "netns", "del", ns, check=False)


def clean_leftovers(prefix: str | None = None) -> list[str]:
    """Remove namespaces of streets whose owner died (or of ``prefix``)."""
    removed = []
    listing = sh("ip", "netns", "list", check=False).stdout.splitlines()
    for line in listing:
        ns = line.split()[0] if line.strip() else ""
        match = OWN_PREFIX.match(ns)
        if not match:
            continue
        owner = match[1]
        marker = MARKERS / owner
        stale = owner == prefix
        if marker.exists():
            try:
                stale = stale or not _alive(int(marker.read_text().strip()))
            except ValueError:
                stale = True
        if stale:
            _remove_namespace(ns)
            removed.append(ns)
    if MARKERS.is_dir():
        for marker in MARKERS.iterdir():
            with contextlib.suppress(ValueError):
                if not _alive(int(marker.read_text().strip())):
                    marker.unlink(missing_ok=True)
    return removed


class LinkEmulator:
    """The :mod:`tests.netns.linkemu` process, driven over its stdin."""

    def __init__(self, log_path: Path) -> None:
        self.log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(LINKEMU)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )

    def command(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the link emulator stopped")
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok"):
            raise RuntimeError(f"link emulator: {answer.get('error')}")
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log.close()


# -- stores ----------------------------------------------------------------------


@dataclass(frozen=True)
class Store:
    """What one node holds: event ids (with the row count) and blobs."""

    ids: frozenset[str]
    rows: int
    blobs: dict[str, str]  # file name (claimed sha256) -> sha256 of its bytes

    @property
    def duplicates(self) -> int:
        return self.rows - len(self.ids)

    @property
    def corrupt_blobs(self) -> list[str]:
        return sorted(name for name, real in self.blobs.items() if name != real)


def _db(data_dir: Path) -> sqlite3.Connection:
    path = data_dir / "minga.sqlite3"
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


def read_store(data_dir: Path) -> Store:
    with contextlib.closing(_db(data_dir)) as db:
        ids = [row[0] for row in db.execute("SELECT id FROM minga_event")]
    blobs = {}
    root = data_dir / "blobs"
    if root.is_dir():
        for path in root.glob("??/??/*"):
            if path.is_file():
                blobs[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return Store(frozenset(ids), len(ids), blobs)


def has_events(data_dir: Path, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` the node's store holds (read-only, while it runs)."""
    wanted = list(ids)
    found: set[str] = set()
    with contextlib.closing(_db(data_dir)) as db:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                row[0]
                for row in db.execute(f"SELECT id FROM minga_event WHERE id IN ({marks})", chunk)
            )
    return found


def has_blob(data_dir: Path, sha256: str) -> bool:
    return (data_dir / "blobs" / sha256[:2] / sha256[2:4] / sha256).is_file()


# -- nodes -----------------------------------------------------------------------


class RelayClient:
    """The writing half of NIP-01 over one open websocket."""

    def __init__(self, ws: ClientConnection, timeout: float) -> None:
        self.ws = ws
        self.timeout = timeout
        first = json.loads(ws.recv(timeout=timeout))
        if first[0] != "AUTH":
            raise AssertionError(f"the relay did not open with AUTH: {first}")

    def publish(self, event: Event) -> list[Any]:
        """Send EVENT and return the relay's OK for it."""
        self.ws.send(json.dumps(["EVENT", event.to_dict()]))
        while True:
            message: list[Any] = json.loads(self.ws.recv(timeout=self.timeout))
            if message[0] == "OK" and message[1] == event.id:
                return message


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MINGA_")}


@dataclass
class StreetNode:
    street: Street
    name: str
    ns: str
    addr: str
    data_dir: Path
    log_path: Path
    pubkey: str = ""  # the node key, hex
    npub: str = ""
    settings: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.addr}:{PORT}"

    @property
    def relay_url(self) -> str:
        return f"ws://{self.addr}:{PORT}/relay"

    def env(self) -> dict[str, str]:
        env = _base_env()
        env.update(
            {
                "MINGA_DATA_DIR": str(self.data_dir),
                "MINGA_HOST": self.addr,
                "MINGA_PORT": str(PORT),
                "MINGA_LOG_LEVEL": "info",
            }
        )
        env.update(self.settings)
        return env

    def minga(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """A ``minga`` command on this node's data (outside the namespace: files only)."""
        result = subprocess.run(
            [sys.executable, "-m", "minga", *args],
            env=self.env(),
            input=input,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"minga {' '.join(args)} on node {self.name} failed:\n{result.stdout}{result.stderr}"
            )
        return result

    def init(self, outlet_key_file: Path) -> None:
        out = self.minga(
            "init", "--outlet", "Prueba", "--outlet-key-file", str(outlet_key_file)
        ).stdout
        match = re.search(r"node key:\s+(npub1[0-9a-z]+)", out)
        if not match:
            raise RuntimeError(f"no node key in the output of init:\n{out}")
        self.npub = match[1]
        self.pubkey = npub_decode(self.npub)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def launch(self) -> None:
        """Start ``minga serve`` in the namespace (see :meth:`wait_healthy`)."""
        if self.running:
            return
        with self.log_path.open("ab") as log:
            log.write(f"\n=== start {time.strftime('%H:%M:%S')} ===\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, sys.executable, "-m", "minga", "serve"],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def healthy(self) -> bool:
        try:
            with inside(self.ns):
                return httpx.get(f"{self.base_url}/healthz", timeout=2, trust_env=False).is_success
        except (httpx.HTTPError, OSError):
            return False

    def wait_healthy(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if not self.running:
                raise AssertionError(f"node {self.name} exited at start\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"node {self.name} is not healthy in time\n{self.tail()}")
            time.sleep(0.2)

    def start(self) -> None:
        self.launch()
        self.wait_healthy()

    def stop(self) -> None:
        """A clean stop (SIGTERM, as a service manager sends)."""
        stop_process(self.proc, timeout=30)
        self._reap()
        self.proc = None

    def kill9(self) -> None:
        """A crash: SIGKILL the node process, then whatever it left in its namespace
        (its verification workers), as a service manager would."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            with self.log_path.open("ab") as log:
                log.write(f"\n=== kill -9 {time.strftime('%H:%M:%S')} ===\n".encode())
        self._reap()
        self.proc = None

    def _reap(self) -> None:
        _kill_namespace_processes(self.ns)
        deadline = time.monotonic() + 10
        while sh("ip", "netns", "pids", self.ns, check=False).stdout.split():
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return f"--- node {self.name}: no log ---"
        return f"--- node {self.name} ({self.log_path}), last {lines} lines ---\n" + "\n".join(
            text[-lines:]
        )

    def store(self) -> Store:
        return read_store(self.data_dir)

    # -- clients ---------------------------------------------------------------

    @contextlib.contextmanager
    def client(self, timeout: float = 30) -> Iterator[RelayClient]:
        """A websocket connection to this node's relay, opened from inside its namespace."""
        with inside(self.ns):
            ws = connect(self.relay_url, open_timeout=timeout, proxy=None, max_size=None)
        with ws:
            client = RelayClient(ws, timeout)
            yield client

    def publish(self, *events: Event, timeout: float = 30) -> list[list[Any]]:
        """Send events to this node's relay (NIP-01 EVENT); return the OK messages."""
        with self.client(timeout) as client:
            return [client.publish(event) for event in events]

    def upload(self, key: SecretKey, data: bytes, mime: str) -> dict[str, Any]:
        """A Blossom upload (BUD-02 PUT /upload with a BUD-11 token); the descriptor."""
        sha = hashlib.sha256(data).hexdigest()
        tags = [["t", "upload"], ["x", sha], ["expiration", str(int(time.time()) + 600)]]
        auth = encode_header(sign_event(key, 24242, "upload blob", tags))
        headers = {"Authorization": auth, "Content-Type": mime, "X-SHA-256": sha}
        with inside(self.ns):
            response = httpx.put(
                f"{self.base_url}/upload",
                content=data,
                headers=headers,
                timeout=60,
                trust_env=False,
            )
        response.raise_for_status()
        descriptor: dict[str, Any] = response.json()
        return descriptor


# -- the street --------------------------------------------------------------------


class Street:
    """Namespaced nodes ``a``, ``b``, ``c``… at 10.77.0.2, .3, .4… over emulated links."""

    def __init__(self, root: Path, names: Iterable[str] = ("a", "b", "c")) -> None:
        self.root = root
        self.prefix = f"mg{secrets.token_hex(2)}"
        self.names = list(names)
        self.nodes: dict[str, StreetNode] = {}
        self.emulator: LinkEmulator | None = None
        self.outlet_key = SecretKey.generate()
        self.opened = False

    def __enter__(self) -> Street:
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getitem__(self, name: str) -> StreetNode:
        return self.nodes[name]

    def open(self) -> None:
        """Make the namespaces and links (first removing what dead runs left behind:
        a run killed before its ``close`` leaves its nodes running until then)."""
        clean_leftovers(self.prefix)
        MARKERS.mkdir(parents=True, exist_ok=True)
        (MARKERS / self.prefix).write_text(str(os.getpid()))
        self.opened = True
        self.root.mkdir(parents=True, exist_ok=True)
        self.emulator = LinkEmulator(self.root / "linkemu.log")
        for i, name in enumerate(self.names):
            ns = f"{self.prefix}-{name}"
            dev = f"{self.prefix}{name}"
            addr = f"10.77.0.{i + 2}"
            sh("ip", "netns", "add", ns)
            self.nodes[name] = StreetNode(
                self, name, ns, addr, self.root / name / "data", self.root / f"{name}.log"
            )
            self.emulator.command(op="tun", name=dev, addr=addr)
            sh("ip", "link", "set", dev, "netns", ns)
            sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")

    def close(self) -> None:
        """Stop every node and remove every namespace and device of this street."""
        for node in self.nodes.values():
            with contextlib.suppress(Exception):
                node.stop()
        for node in self.nodes.values():
            _remove_namespace(node.ns)
        if self.emulator is not None:
            self.emulator.close()  # its TUN devices go with it
            self.emulator = None
        if self.opened:
            clean_leftovers(self.prefix)
            (MARKERS / self.prefix).unlink(missing_ok=True)
            self.opened = False

    # -- the links -------------------------------------------------------------

    def shape(self, shape: Shape) -> None:
        assert self.emulator is not None
        self.emulator.command(
            op="shape", rate=shape.rate, delay=shape.delay, loss=shape.loss, limit=shape.limit
        )

    def partition(self, *groups: Iterable[StreetNode]) -> None:
        """Cut every link between two different groups (silently: packets vanish)."""
        assert self.emulator is not None
        self.emulator.command(op="partition", groups=[[n.addr for n in g] for g in groups])

    def heal(self) -> None:
        assert self.emulator is not None
        self.emulator.command(op="heal")

    def link_stats(self) -> dict[str, Any]:
        assert self.emulator is not None
        return self.emulator.command(op="stats")

    def round_trip(self, src: StreetNode, dst: StreetNode, tries: int = 5) -> list[float]:
        """TCP connect times from ``src`` to ``dst``'s port (one SYN/SYN-ACK round trip)."""
        import socket

        times = []
        for _ in range(tries):
            with inside(src.ns):
                sock = socket.socket()
            with sock:
                sock.settimeout(30)
                start = time.perf_counter()
                sock.connect((dst.addr, PORT))
                times.append(time.perf_counter() - start)
        return times

    # -- the collective --------------------------------------------------------

    def init(self, sync_interval: int = 30, **settings: str) -> None:
        """``minga init`` every node with one outlet key; each knows the others as peers."""
        key_file = self.root / "outlet.key"
        key_file.write_text(self.outlet_key.hex() + "\n")
        key_file.chmod(0o600)
        for node in self.nodes.values():
            node.init(key_file)
        for node in self.nodes.values():
            peers = ",".join(
                f"{other.relay_url} {other.npub}"
                for other in self.nodes.values()
                if other is not node
            )
            node.settings.update(
                {"MINGA_PEERS": peers, "MINGA_SYNC_INTERVAL": str(sync_interval), **settings}
            )

    def start(self, *names: str) -> None:
        """Start nodes (all by default) side by side, then wait until each answers."""
        chosen = [self.nodes[n] for n in names] if names else list(self.nodes.values())
        for node in chosen:
            node.launch()
        for node in chosen:
            node.wait_healthy()

    def report(self, lines: int = 40) -> str:
        parts = [node.tail(lines) for node in self.nodes.values()]
        if self.emulator is not None and self.emulator.proc.poll() is None:
            with contextlib.suppress(Exception):
                parts.append(f"links: {self.link_stats()}")
        return "\n".join(parts)

    def wait_until(
        self, check: Callable[[], T], timeout: float, what: str, interval: float = 0.25
    ) -> T:
        """Poll ``check`` until it returns something true; fail with the nodes' logs."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s: {what}\n{self.report()}")
            time.sleep(interval)

    def missing(
        self, ids: Iterable[str], nodes: Iterable[StreetNode] | None = None
    ) -> dict[str, int]:
        """How many of ``ids`` each node still lacks."""
        wanted = set(ids)
        chosen = list(nodes) if nodes is not None else list(self.nodes.values())
        return {n.name: len(wanted - has_events(n.data_dir, wanted)) for n in chosen}

    def wait_everywhere(self, ids: Iterable[str], timeout: float, what: str = "events") -> None:
        wanted = set(ids)
        self.wait_until(
            lambda: not any(self.missing(wanted).values()),
            timeout,
            f"{what} on every node (missing per node: {self.missing(wanted)})",
        )

    def converged(self) -> bool:
        stores = [n.store() for n in self.nodes.values()]
        first = stores[0]
        return all(s.ids == first.ids and set(s.blobs) == set(first.blobs) for s in stores)

    def wait_converged(self, timeout: float) -> dict[str, Store]:
        """Wait until every store holds the same events and blobs; return the stores."""
        self.wait_until(self.converged, timeout, f"identical stores ({self.describe()})", 1.0)
        return {n.name: n.store() for n in self.nodes.values()}

    def describe(self) -> str:
        stores = {n.name: n.store() for n in self.nodes.values()}
        union = frozenset().union(*(s.ids for s in stores.values()))
        blob_union = set().union(*(set(s.blobs) for s in stores.values()))
        return ", ".join(
            f"{name}: {len(s.ids)} events ({len(union - s.ids)} missing, {s.duplicates} dup),"
            f" {len(s.blobs)} blobs ({len(blob_union - set(s.blobs))} missing)"
            for name, s in stores.items()
        )


# -- events ------------------------------------------------------------------------


def dispatch(key: SecretKey, size: int = 2048, title: str = "Despacho") -> Event:
    """A dispatch (NIP-23 long-form, kind 30023) whose content is ``size`` bytes."""
    body = (f"{title}. " + "La calle sigue cortada frente al mercado. " * 60)[:size]
    d = uuid.uuid4().hex
    return sign_event(key, 30023, body, [["d", d], ["title", title]])


def note(key: SecretKey, text: str) -> Event:
    return sign_event(key, 1, text, [])


def photo_note(key: SecretKey, node: StreetNode, descriptor: dict[str, Any]) -> Event:
    sha = descriptor["sha256"]
    imeta = [
        "imeta",
        f"url {node.base_url}/{sha}.jpg",
        f"x {sha}",
        f"m {descriptor['type']}",
        f"size {descriptor['size']}",
    ]
    return sign_event(key, 1, f"Foto {sha[:8]}", [imeta])
