"""Reticulum and the LXMF router of this node: identity, announce, send, receive.

Reticulum is one instance per process (``RNS.Reticulum`` refuses a second),
so the started router is kept for the life of the process and a restarted
service reuses it. RNS and LXMF install their own SIGINT/SIGTERM handlers
(which exit the process at once); the node's server keeps its own, so they
are put back right after start-up and a stop stays graceful.

Files, under ``<data_dir>/mesh/``:

- ``identity``: this node's Reticulum identity (its LXMF address derives from
  it), owner-only (0600); a file others may read is refused;
- ``reticulum/``: the Reticulum config dir, unless ``mesh_config_dir`` names
  one (e.g. with an RNode interface, see docs/mesh.md); a default one with
  an ``AutoInterface`` (the local network) is written on first start;
- ``lxmf/``: the router's storage.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minga.exceptions import ConfigError, RetryLater
from minga.sync.mesh import codec

log = logging.getLogger(__name__)
rns_log = logging.getLogger("minga.sync.mesh.rns")

APP_NAME = "lxmf"
DELIVERY_LIMIT_KB = 32  # LXMF's own cap on one incoming message (codec caps far lower)
DISPLAY_NAME = "minga"

DEFAULT_CONFIG = """\
# Reticulum for this minga node (written by minga; edit freely).
# Add an RNode LoRa radio here: see docs/mesh.md.
[reticulum]
  enable_transport = No
  share_instance = No
  panic_on_interface_error = No

[logging]
  loglevel = 3

[interfaces]
  [[Local network]]
    type = AutoInterface
    enabled = Yes
"""

# Called with (sender LXMF hash hex, payload or None, error text).
Inbound = Callable[[str, bytes | None, str], None]
# Called with (destination hash hex, is_propagation_node).
Heard = Callable[[str, bool], None]
# Called with (delivered, how: "direct" / "propagated", error text).
Outcome = Callable[[bool, str, str], None]


@dataclass
class _Running:
    config_dir: str
    router: Any
    identity: Any
    destination: Any
    handlers: list[_AnnounceHandler]


_RUNNING: _Running | None = None
_START_LOCK = threading.Lock()


def mesh_dir(data_path: Path) -> Path:
    return data_path / "mesh"


def load_identity(path: Path) -> Any:
    """This node's Reticulum identity, created (0600) on first use."""
    import RNS

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        identity = RNS.Identity()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(identity.get_private_key())
            handle.flush()
            os.fsync(handle.fileno())
        return identity
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path} must be readable by its owner only (chmod 600 {path})")
    identity = RNS.Identity.from_bytes(path.read_bytes())
    if identity is None:
        raise ConfigError(f"{path} does not hold a Reticulum identity")
    return identity


def address_of(identity: Any) -> str:
    """The LXMF delivery address (destination hash, hex) of ``identity``."""
    import RNS

    return str(RNS.Destination.hash(identity, APP_NAME, "delivery").hex())


def config_dir_for(data_path: Path, configured: str) -> Path:
    """The Reticulum config dir to use; the default one is written when missing."""
    if configured:
        path = Path(configured).expanduser()
        if not (path / "config").is_file():
            raise ConfigError(f"mesh_config_dir {path}: no Reticulum 'config' file there")
    else:
        path = mesh_dir(data_path) / "reticulum"
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not (path / "config").exists():
            (path / "config").write_text(DEFAULT_CONFIG, encoding="utf-8")
    # Reticulum exits the whole process on a config it cannot parse: check first.
    from RNS.vendor.configobj import ConfigObj

    try:
        ConfigObj(str(path / "config"))
    except Exception as exc:
        raise ConfigError(f"{path / 'config'} is not a valid Reticulum config: {exc}") from exc
    return path


@contextlib.contextmanager
def _keep_signal_handlers() -> Iterator[None]:
    """Let RNS/LXMF start without taking over SIGINT/SIGTERM (see module docstring)."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    original = signal.signal

    def only_main(sig: int, handler: Any) -> Any:
        # Off the main thread signal.signal raises; RNS must not fail for that.
        if threading.current_thread() is threading.main_thread():
            return original(sig, handler)
        return signal.getsignal(sig)

    signal.signal = only_main  # type: ignore[assignment]
    try:
        yield
    finally:
        signal.signal = original
        if threading.current_thread() is threading.main_thread():
            for sig, handler in saved.items():
                if handler is not None:
                    original(sig, handler)


def _rns_log(line: str) -> None:
    rns_log.info("%s", line)


class _AnnounceHandler:
    """Tells the service when a destination it cares about is heard."""

    def __init__(self, aspect: str, wanted: frozenset[bytes], heard: Heard) -> None:
        self.aspect_filter = aspect
        self.receive_path_responses = True
        self.wanted = wanted
        self.heard = heard
        self.propagation = aspect.endswith(".propagation")

    # RNS picks what to pass by counting these parameters: keep exactly three.
    def received_announce(
        self, destination_hash: bytes, announced_identity: Any, app_data: Any
    ) -> None:
        if destination_hash in self.wanted:
            try:
                self.heard(destination_hash.hex(), self.propagation)
            except Exception:
                log.exception("mesh: announce handler failed")


class MeshTransport:
    """The LXMF router bound to this process's Reticulum instance."""

    def __init__(
        self,
        config_dir: Path,
        identity_path: Path,
        *,
        destinations: frozenset[str],
        propagation_node: str,
        on_message: Inbound,
        on_heard: Heard,
        loglevel: int | None = None,
    ) -> None:
        self.config_dir = config_dir
        self.identity_path = identity_path
        self.destinations = destinations
        self.propagation_node = propagation_node
        self.on_message = on_message
        self.on_heard = on_heard
        self.loglevel = loglevel
        self.running: _Running | None = None

    # -- life ---------------------------------------------------------------
    def start(self) -> str:
        """Start (or reuse) Reticulum and the router; announce. Returns this node's address."""
        global _RUNNING
        import LXMF
        import RNS

        with _START_LOCK:
            if _RUNNING is not None and _RUNNING.config_dir != str(self.config_dir):
                raise ConfigError(f"this process already runs Reticulum from {_RUNNING.config_dir}")
            if _RUNNING is None:
                identity = load_identity(self.identity_path)
                storage = self.identity_path.parent / "lxmf"
                storage.mkdir(parents=True, exist_ok=True, mode=0o700)
                with _keep_signal_handlers():
                    if RNS.Reticulum.get_instance() is None:
                        RNS.Reticulum(
                            configdir=str(self.config_dir),
                            loglevel=self.loglevel,
                            logdest=_rns_log,
                        )
                    router = LXMF.LXMRouter(
                        identity=identity,
                        storagepath=str(storage),
                        delivery_limit=DELIVERY_LIMIT_KB,
                    )
                destination = router.register_delivery_identity(identity, display_name=DISPLAY_NAME)
                _RUNNING = _Running(str(self.config_dir), router, identity, destination, [])
            running = _RUNNING
        running.router.register_delivery_callback(self._delivered)
        for handler in running.handlers:
            RNS.Transport.deregister_announce_handler(handler)
        wanted = frozenset(bytes.fromhex(h) for h in self.destinations)
        running.handlers = [_AnnounceHandler(f"{APP_NAME}.delivery", wanted, self.on_heard)]
        if self.propagation_node:
            pn = bytes.fromhex(self.propagation_node)
            running.router.set_outbound_propagation_node(pn)
            running.handlers.append(
                _AnnounceHandler(f"{APP_NAME}.propagation", frozenset([pn]), self.on_heard)
            )
        for handler in running.handlers:
            RNS.Transport.register_announce_handler(handler)
        self.running = running
        self.announce()
        for name in self.destinations:
            self.request_path(name)
        if self.propagation_node:
            self.request_path(self.propagation_node)
        return self.address

    def stop(self) -> None:
        """Stop handing messages to this object (Reticulum itself lives on, see above)."""
        import RNS

        running, self.running = self.running, None
        if running is None:
            return
        running.router.register_delivery_callback(None)
        for handler in running.handlers:
            RNS.Transport.deregister_announce_handler(handler)
        running.handlers = []

    @property
    def address(self) -> str:
        assert self.running is not None
        return str(self.running.destination.hash.hex())

    def _router(self) -> Any:
        if self.running is None:
            raise RetryLater("the mesh transport is not running")
        return self.running.router

    # -- paths ----------------------------------------------------------------
    def announce(self) -> None:
        if self.running is not None:
            self.running.router.announce(self.running.destination.hash)

    def has_path(self, destination: str) -> bool:
        import RNS

        return bool(RNS.Transport.has_path(bytes.fromhex(destination)))

    def request_path(self, destination: str) -> None:
        import RNS

        RNS.Transport.request_path(bytes.fromhex(destination))

    def known(self, destination: str) -> bool:
        """True once this node has heard the destination's identity (needed to encrypt)."""
        import RNS

        return RNS.Identity.recall(bytes.fromhex(destination)) is not None

    # -- sending --------------------------------------------------------------
    def send(self, destination: str, payload: bytes, *, propagated: bool, outcome: Outcome) -> str:
        """Hand one message to LXMF; ``outcome`` is called once it is delivered
        (direct: the recipient's proof) or taken by the propagation node, or failed.
        Returns the LXMF message id (hex)."""
        import LXMF
        import RNS

        router = self._router()
        assert self.running is not None
        dest_hash = bytes.fromhex(destination)
        identity = RNS.Identity.recall(dest_hash)
        if identity is None:
            RNS.Transport.request_path(dest_hash)
            raise RetryLater("destination not heard on the mesh yet (its identity is unknown)")
        if propagated and not self.propagation_node:
            raise RetryLater("no propagation node configured")
        target = RNS.Destination(
            identity, RNS.Destination.OUT, RNS.Destination.SINGLE, APP_NAME, "delivery"
        )
        how = "propagated" if propagated else "direct"
        message = LXMF.LXMessage(
            target,
            self.running.destination,
            b"",
            b"",
            codec.fields(payload),
            desired_method=LXMF.LXMessage.PROPAGATED if propagated else LXMF.LXMessage.DIRECT,
        )
        message.register_delivery_callback(lambda m: outcome(True, how, ""))
        message.register_failed_callback(lambda m: outcome(False, how, _failure(m)))
        router.handle_outbound(message)
        return str(message.message_id.hex())

    def cancel(self, message_id: str) -> None:
        if self.running is not None and message_id:
            self.running.router.cancel_outbound(bytes.fromhex(message_id))

    # -- propagation node -----------------------------------------------------
    def sync_from_propagation_node(self) -> None:
        """Ask the propagation node for messages waiting for this node."""
        if self.running is not None and self.propagation_node:
            self.running.router.request_messages_from_propagation_node(self.running.identity)

    # -- receiving ------------------------------------------------------------
    def _delivered(self, message: Any) -> None:
        # LXMF's thread: hand over and return (the service does the store work).
        sender = message.source_hash.hex() if message.source_hash else ""
        try:
            payload = codec.payload_of(message.fields)
        except Exception as exc:
            self.on_message(sender, None, str(exc))
            return
        self.on_message(sender, payload, "")


def _failure(message: Any) -> str:
    import LXMF

    if message.state == LXMF.LXMessage.REJECTED:
        return "rejected by the recipient"
    return "LXMF could not deliver the message"
