"""A public Nostr relay nobody here wrote: nostr-relay (PyPI, SQLite), as a subprocess.

Its executable is found at ``MINGA_TEST_NOSTR_RELAY``, in ``.venv-relay`` (a venv
of its own that ``make test`` makes: its uvicorn[standard] must not change how
minga's own node runs), or on the PATH. ``check_signatures=False`` makes a
careless relay that stores whatever it is given (to show forged events stop
at the node); ``kinds`` makes a picky one that refuses the others.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

from tests.fixtures import free_port, stop_process


def executable() -> str:
    candidates = [
        os.environ.get("MINGA_TEST_NOSTR_RELAY", ""),
        str(Path(__file__).resolve().parents[2] / ".venv-relay" / "bin" / "nostr-relay"),
        shutil.which("nostr-relay") or "",
    ]
    for path in candidates:
        if path and Path(path).is_file():
            return path
    raise RuntimeError("nostr-relay is not installed (make .venv-relay/bin/nostr-relay)")


class PublicRelay:
    def __init__(
        self,
        folder: Path,
        *,
        check_signatures: bool = True,
        kinds: Iterable[int] | None = None,
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}"
        validators = ["nostr_relay.validators.is_not_too_large"]
        if check_signatures:
            validators.append("nostr_relay.validators.is_signed")
        extra = ""
        if kinds is not None:
            validators.append("nostr_relay.validators.is_certain_kind")
            extra = f"valid_kinds: {json.dumps(sorted(kinds))}\n"
        self.config = folder / "relay.yaml"
        self.config.write_text(
            "DEBUG: false\n"
            "relay_name: a public relay\n"
            "storage:\n"
            f"  sqlalchemy.url: sqlite+aiosqlite:///{folder / 'relay.sqlite3'}\n"
            "  num_concurrent_reqs: 4\n"
            "  num_concurrent_adds: 1\n"
            "  validators:\n" + "".join(f"    - {v}\n" for v in validators) + "gunicorn:\n"
            f"  bind: 127.0.0.1:{self.port}\n"
            "  workers: 1\n"
            "  loglevel: warning\n"
            "  reload: false\n"
            "authentication:\n"
            "  enabled: false\n"
            "verification:\n"
            "  nip05_verification: disabled\n"
            "max_event_size: 400000\n"
            "message_timeout: 1800\n"
            "subscription_limit: 32\n"
            "max_limit: 6000\n"
            "hellthread_limit: 100\n" + extra,
            encoding="utf-8",
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        program = executable()
        log = (self.folder / "relay.log").open("ab")
        self.proc = subprocess.Popen(
            [program, "-c", str(self.config), "serve", "--use-uvicorn"],
            cwd=self.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        while True:
            try:
                with connect(self.url, open_timeout=2):
                    return
            except OSError:
                assert self.proc.poll() is None, (self.folder / "relay.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "nostr-relay did not start"
                time.sleep(0.1)

    def stop(self) -> None:
        stop_process(self.proc, timeout=15)
        self.proc = None

    def publish(self, event: dict[str, Any]) -> list[Any]:
        with connect(self.url, open_timeout=5) as ws:
            ws.send(json.dumps(["EVENT", event]))
            while True:
                message = json.loads(ws.recv(timeout=10))
                if message[0] == "OK":
                    return list(message)

    def events(self, *filters: dict[str, Any]) -> list[dict[str, Any]]:
        """Everything the relay serves for ``filters`` (default: everything; this relay
        answers an empty filter with nothing, so "everything" is ``since: 1``)."""
        with connect(self.url, open_timeout=5, max_size=None) as ws:
            ws.send(json.dumps(["REQ", "all", *(filters or ({"since": 1, "limit": 5000},))]))
            found = []
            while True:
                message = json.loads(ws.recv(timeout=10))
                if message[0] == "EVENT":
                    found.append(message[2])
                elif message[0] in ("EOSE", "CLOSED"):
                    return found

    def raw_text(self) -> str:
        """Every byte the relay keeps, as text: to look for anything in clear."""
        return "".join(p.read_bytes().decode("latin-1") for p in self.folder.glob("relay.sqlite3*"))
