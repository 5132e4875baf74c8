"""Shared fixtures: keys, an outlet with a roster, nodes on loopback ports."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from minga.events import Event, SecretKey, sign_event


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=2).raise_for_status()
            return
        except (httpx.HTTPError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="session", autouse=True)
def _static_files(django_db_setup: Any, django_db_blocker: Any) -> None:
    """The hashed static files the pages link to, collected once for the run."""
    from minga.node.setup import collect_static

    with django_db_blocker.unblock():
        collect_static()


@pytest.fixture
def make_key():
    return SecretKey.generate


@dataclass
class Newsroom:
    outlet_key: SecretKey
    node_pubkey: str
    members: dict[str, SecretKey]

    def member(self, role: str = "reporter") -> SecretKey:
        from minga.newsroom import membership

        key = SecretKey.generate()
        membership.add(key.pubkey, role)
        self.members[key.pubkey] = key
        return key


@pytest.fixture
def newsroom(transactional_db) -> Newsroom:
    """An initialised node: node key, outlet key (custodial), empty roster."""
    from minga.keys import custody
    from minga.keys.models import Purpose
    from minga.node.setup import ensure_identity

    identity = ensure_identity("Prueba")
    return Newsroom(custody.load_purpose(Purpose.OUTLET), identity.node, {})


# -- an in-process node --------------------------------------------------------


@dataclass
class RunningNode:
    base_url: str
    relay_url: str
    app: Any
    clients: list[Relay]

    def ws(self, **kwargs: Any) -> Relay:
        """A connected client, closed when the test ends."""
        conn = connect(self.relay_url, open_timeout=10, **kwargs).__enter__()
        relay = Relay(conn)
        self.clients.append(relay)
        return relay


class Relay:
    """A tiny NIP-01 client over a real websocket, for protocol tests."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        first = self.recv()
        assert first[0] == "AUTH"
        self.challenge: str = first[1]

    def send(self, *message: Any) -> None:
        self.conn.send(json.dumps(list(message)))

    def send_raw(self, text: str) -> None:
        self.conn.send(text)

    def recv(self, timeout: float = 10.0) -> list[Any]:
        return json.loads(self.conn.recv(timeout=timeout))

    def publish(self, event: Event) -> list[Any]:
        self.send("EVENT", event.to_dict())
        return self.until("OK")

    def until(self, verb: str, timeout: float = 10.0) -> list[Any]:
        while True:
            message = self.recv(timeout)
            if message[0] == verb:
                return message

    def req(self, subid: str, *filters: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Any]]:
        """Send REQ; return the stored events and the closing EOSE or CLOSED message."""
        self.send("REQ", subid, *filters)
        events = []
        while True:
            message = self.recv()
            if message[0] == "EVENT" and message[1] == subid:
                events.append(message[2])
            elif message[0] in ("EOSE", "CLOSED") and message[1] == subid:
                return events, message

    def auth(self, key: SecretKey, relay_url: str) -> list[Any]:
        event = sign_event(key, 22242, "", [["relay", relay_url], ["challenge", self.challenge]])
        self.send("AUTH", event.to_dict())
        return self.until("OK")

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def node_settings() -> dict[str, Any]:
    """Settings for the `node` fixture; override this fixture to change them."""
    return {}


@pytest.fixture
def node(newsroom, settings, node_settings) -> Iterator[RunningNode]:
    """The real ASGI app under uvicorn on a free loopback port, in this process."""
    import uvicorn

    from minga.node.asgi import build

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    from minga import config as minga_config

    cfg = minga_config.load({"port": port, "public_url": base, **node_settings})
    settings.MINGA = cfg
    app = build(cfg)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            ws="websockets-sansio",
            ws_max_size=cfg.max_message_bytes * 4,
            lifespan="on",
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the node did not start"
        assert time.monotonic() < deadline, "the node did not start in time"
        time.sleep(0.02)
    running = RunningNode(base, cfg.relay_url, app, [])
    try:
        yield running
    finally:
        for client in running.clients:
            client.close()
        server.should_exit = True
        thread.join(timeout=20)
        assert not thread.is_alive(), "the node did not stop"


# -- a node as its own process -------------------------------------------------


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 20) -> None:
    """Stop a child process cleanly (SIGTERM), killing it if it does not stop."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class NodeProcess:
    data_dir: Path
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def relay_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/relay"

    def minga(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "minga", *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=300,
            check=check,
        )

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / "serve.log"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "minga", "serve"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_http(f"{self.base_url}/healthz", timeout=60)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


def _admin_dsn(url: str) -> tuple[str, str]:
    base, _, _name = url.rpartition("/")
    return base, _name


@pytest.fixture
def node_process(tmp_path) -> Iterator[NodeProcess]:
    """Environment for `minga` as a separate process, with its own database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINGA_")}
    port = free_port()
    env.update(
        {
            "MINGA_DATA_DIR": str(tmp_path / "node"),
            "MINGA_PORT": str(port),
            "MINGA_LOG_LEVEL": "warning",
        }
    )
    test_url = os.environ.get("MINGA_TEST_DATABASE_URL")
    dbname = None
    if test_url:
        import psycopg

        base, _ = _admin_dsn(test_url)
        dbname = f"minga_node_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(test_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        env["MINGA_DATABASE_URL"] = f"{base}/{dbname}"
    handle = NodeProcess(tmp_path / "node", port, env)
    try:
        yield handle
    finally:
        handle.stop()
        if dbname is not None:
            import psycopg

            with psycopg.connect(test_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def run(coro: Any) -> Any:
    """Run a coroutine from a synchronous test (nostr-sdk is async)."""
    return asyncio.run(coro)


def session_cookies(user: Any) -> dict[str, str]:
    """Cookies of a signed-in browser session for ``user`` (session and CSRF)."""
    from django.conf import settings as django_settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {
        django_settings.SESSION_COOKIE_NAME: client.cookies[
            django_settings.SESSION_COOKIE_NAME
        ].value,
        "csrftoken": "t" * 32,
    }
