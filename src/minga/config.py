"""Settings: one table, read from defaults, an optional TOML file and ``MINGA_*``.

Each setting has a name, a default and a help line (``minga settings`` prints the
table). Precedence, lowest first: the default, the TOML file
(``MINGA_CONFIG`` or ``<data_dir>/minga.toml``), then the environment variable
``MINGA_<NAME>``. Values are parsed and validated once at start-up; a bad value
stops the node with a message that names the setting.

Secrets (the Django secret, the vault key that seals custodial keys) are never
settings: they come from ``MINGA_SECRET_KEY`` / ``MINGA_VAULT_KEY`` or from files
in ``<data_dir>/secrets`` that only the owner may read.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from minga.exceptions import ConfigError, InvalidKey
from minga.keys.nip19 import parse_pubkey


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("not an integer")
    number = int(value)
    if number < 0:
        raise ValueError("must not be negative")
    return number


def _str(value: Any) -> str:
    return str(value)


def _kinds(value: Any) -> frozenset[int]:
    items = value if isinstance(value, list) else [v for v in str(value).split(",") if v.strip()]
    kinds = frozenset(int(v) for v in items)
    if any(not 0 <= k <= 65535 for k in kinds):
        raise ValueError("kinds are 0..65535")
    return kinds


def _language(value: Any) -> str:
    text = str(value)
    if text not in {"es", "en"}:
        raise ValueError("the interface speaks 'es' or 'en'")
    return text


def _zone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return str(value)


def _url(value: Any) -> str:
    text = str(value).rstrip("/")
    if text and not text.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return text


def _url_list(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else str(value).split(",")
    return tuple(_url(str(v).strip()) for v in items if str(v).strip())


def _ws_list(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else str(value).split(",")
    urls = tuple(str(v).strip().rstrip("/") for v in items if str(v).strip())
    for url in urls:
        if not url.startswith(("ws://", "wss://")):
            raise ValueError(f"{url!r}: a relay URL starts with ws:// or wss://")
    return urls


def _peer_list(value: Any) -> tuple[tuple[str, str], ...]:
    """``"ws://host:port/relay npub1…"`` items: a peer node's relay and its node key (hex)."""
    items = value if isinstance(value, list) else str(value).split(",")
    peers = []
    for item in (str(v).strip() for v in items):
        if not item:
            continue
        parts = item.split()
        if len(parts) != 2:
            raise ValueError(
                f"{item!r}: a peer is 'ws://host:port/relay npub1…' (URL and node key)"
            )
        (url,) = _ws_list(parts[0])
        try:
            peers.append((url, parse_pubkey(parts[1])))
        except InvalidKey as exc:
            raise ValueError(f"{item!r}: {exc}") from exc
    return tuple(peers)


def _frame_size(value: Any) -> int:
    """NIP-77 frame size: 0 (no limit) or at least 4096 bytes, as negentropy requires."""
    number = _int(value)
    if 0 < number < 4096:
        raise ValueError("must be 0 (no limit) or at least 4096")
    return number


def _mesh_hash(value: Any) -> str:
    text = str(value).strip().lower().removeprefix("lxmf://")
    if text and (len(text) != 32 or any(c not in "0123456789abcdef" for c in text)):
        raise ValueError(f"{value!r}: an LXMF address is 32 hexadecimal characters")
    return text


def _mesh_destinations(value: Any) -> tuple[tuple[str, bool], ...]:
    """``"<hash>"`` (a node of the collective) or ``"<hash>:public"`` items, as
    (hash, may receive private events)."""
    items = value if isinstance(value, list) else str(value).split(",")
    found: dict[str, bool] = {}
    for item in (str(v).strip() for v in items):
        if not item:
            continue
        name, _, scope = item.lower().removeprefix("lxmf://").partition(":")
        if scope not in ("", "public"):
            raise ValueError(f"{item!r}: a mesh destination is '<hash>' or '<hash>:public'")
        found[_mesh_hash(name)] = scope == ""
    return tuple(found.items())


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[Any], Any] = _str


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", "minga-data", "Folder for the SQLite store, blobs and secrets."),
    Setting(
        "database_url",
        "",
        "Empty for SQLite in the data folder; postgresql://user@host:port/db for PostgreSQL.",
    ),
    Setting("host", "127.0.0.1", "Address `minga serve` listens on."),
    Setting("port", 8000, "Port `minga serve` listens on.", _int),
    Setting(
        "public_url",
        "",
        "URL readers and clients use to reach this node (default http://host:port).",
        _url,
    ),
    Setting("language", "es", "Default interface language of the outlet (es or en).", _language),
    Setting("time_zone", "America/Lima", "The outlet's time zone, for dates shown.", _zone),
    Setting("relay_name", "minga", "Relay name in the NIP-11 document."),
    Setting(
        "relay_description",
        "A minga newsroom node: signed dispatches from the street.",
        "Relay description in the NIP-11 document.",
    ),
    Setting("open_writes", False, "Accept events from any key, not only the roster.", _bool),
    Setting(
        "private_kinds",
        "4,13,14,15,1059,1060,30024",
        "Kinds served only to authenticated members (drafts, DMs, gift wraps).",
        _kinds,
    ),
    Setting(
        "embargo_kinds",
        "30023,1063",
        "Kinds kept private until the outlet publishes them (dispatches, media records).",
        _kinds,
    ),
    Setting(
        "max_message_bytes", 524288, "Largest websocket message the relay reads (bytes).", _int
    ),
    Setting("max_content_chars", 262144, "Largest event content (characters).", _int),
    Setting("max_event_tags", 2000, "Most tags in one event.", _int),
    Setting("max_tag_bytes", 8192, "Largest single tag element (bytes).", _int),
    Setting("max_index_value_bytes", 1024, "Largest single-letter tag value (bytes).", _int),
    Setting(
        "created_at_future_seconds",
        900,
        "How far in the future an event's created_at may be (seconds).",
        _int,
    ),
    Setting("max_subscriptions", 32, "Open subscriptions per relay connection.", _int),
    Setting("max_filters", 16, "Filters in one REQ.", _int),
    Setting("max_filter_values", 1000, "Values in one filter list (ids, authors…).", _int),
    Setting("max_limit", 1000, "Largest `limit` honoured per filter.", _int),
    Setting("default_limit", 500, "Events returned for a filter without `limit`.", _int),
    Setting("max_subid_length", 64, "Longest subscription id.", _int),
    Setting("event_rate", 50, "Sustained EVENT messages per second per connection.", _int),
    Setting("event_burst", 500, "EVENT burst allowance per connection.", _int),
    Setting("req_rate", 20, "Sustained REQ messages per second per connection.", _int),
    Setting("req_burst", 100, "REQ burst allowance per connection.", _int),
    Setting("max_connections", 1000, "Open relay connections per process.", _int),
    Setting(
        "max_unread_messages",
        20000,
        "Messages queued for a client that does not read before it is disconnected.",
        _int,
    ),
    Setting("max_blob_bytes", 1 << 30, "Largest blob accepted by PUT /upload (bytes).", _int),
    Setting("auth_window_seconds", 600, "Clock slack for NIP-42 and Blossom auth events.", _int),
    Setting("write_batch", 1000, "Most events committed in one store transaction.", _int),
    Setting(
        "sqlite_synchronous",
        "FULL",
        "SQLite synchronous pragma: FULL survives power loss, NORMAL only crashes.",
    ),
    Setting("log_level", "info", "Log level: debug, info, warning, error."),
    # Publishing (credentials are never settings: see minga.keys.secrets.credential).
    Setting(
        "site_url",
        "",
        "Public address of the outlet's site, for feeds and the sitemap"
        " (default: this node's URL + /site/).",
        _url,
    ),
    Setting(
        "edition_days",
        7,
        "Days of dispatches in the single-file offline edition.",
        _int,
    ),
    Setting(
        "publish_targets",
        "",
        "Where the site is deployed, comma-separated: folder:/srv/www,"
        " s3://bucket/prefix, git:/path/repo.git#branch, blossom:https://server.",
    ),
    Setting("s3_endpoint", "", "S3-compatible endpoint URL (empty: AWS).", _url),
    Setting("s3_region", "us-east-1", "S3 region."),
    Setting("mastodon_url", "", "Mastodon server to post to (credential mastodon_token).", _url),
    Setting("telegram_api", "https://api.telegram.org", "Telegram Bot API address.", _url),
    Setting("telegram_chat", "", "Telegram channel (@name or id) (credential telegram_token)."),
    Setting("bluesky_service", "https://bsky.social", "Bluesky PDS address.", _url),
    Setting("bluesky_handle", "", "Bluesky account (credential bluesky_password)."),
    Setting(
        "smtp_url",
        "",
        "Newsletter SMTP server, smtp://user@host:587 (STARTTLS) or smtps://user@host:465"
        " (credential smtp_password).",
    ),
    Setting("newsletter_from", "", "From address of the newsletter."),
    Setting(
        "retry_max_seconds",
        3600,
        "Longest wait between two tries of a deploy or a syndication post.",
        _int,
    ),
    # Replication (minga.sync): other nodes of the collective, relays, files, radio.
    Setting(
        "peers",
        "",
        "Other nodes of the collective, comma-separated 'ws://host:port/relay npub1…'"
        " (relay URL and node key): kept in sync both ways, private events included.",
        _peer_list,
    ),
    Setting(
        "blob_servers",
        "",
        "Blossom servers (besides the peers) to fetch missing blobs from, comma-separated.",
        _url_list,
    ),
    Setting(
        "sync_interval",
        300,
        "Seconds between two reconciliations (NIP-77) with a connected peer.",
        _int,
    ),
    # Bundles (minga.sync.bundle): files carried by hand, see docs/bundles.md.
    Setting(
        "max_bundle_upload_bytes",
        2 << 30,
        "Largest bundle (all parts of one upload) the desk may upload in the web UI (bytes).",
        _int,
    ),
    # Mailboxes (minga.sync.mailbox): public relays carry what cannot reach the node.
    Setting(
        "outbox_relays",
        "",
        "Public relays the outlet's approved public events are posted to (its NIP-65"
        " write relays), comma-separated ws:// or wss:// URLs.",
        _ws_list,
    ),
    Setting(
        "inbox_relays",
        "",
        "Public relays the node pulls members' events and gift wraps from (the outlet's"
        " NIP-65 read relays), comma-separated ws:// or wss:// URLs.",
        _ws_list,
    ),
    Setting(
        "mailbox_max_event_bytes",
        131072,
        "Largest event posted to an outbox relay (bytes): public relays refuse big ones.",
        _int,
    ),
    # Mesh radio (minga.sync.mesh): small events over Reticulum/LXMF, see docs/mesh.md.
    Setting("mesh_enabled", False, "Send and receive small events over Reticulum/LXMF.", _bool),
    Setting(
        "mesh_destinations",
        "",
        "LXMF addresses (hex) of the collective's other nodes, comma-separated"
        " (`minga mesh address` prints a node's); '<hash>:public' for one that gets"
        " public events only.",
        _mesh_destinations,
    ),
    Setting(
        "mesh_propagation_node",
        "",
        "LXMF propagation node (hex) that keeps messages for destinations out of reach.",
        _mesh_hash,
    ),
    Setting(
        "mesh_kinds",
        "1,5,1059,30000,30023",
        "Kinds sent over the mesh (notes, deletions, gift-wrapped check-ins and"
        " coordination, the roster, dispatches without media).",
        _kinds,
    ),
    Setting(
        "mesh_max_event_bytes",
        2000,
        "Largest event sent over the mesh, compressed (bytes): radio time is scarce.",
        _int,
    ),
    Setting(
        "mesh_config_dir",
        "",
        "A Reticulum config folder to use (e.g. with an RNode interface); empty:"
        " <data_dir>/mesh/reticulum, written on first start.",
    ),
    Setting(
        "mesh_direct_timeout",
        120,
        "Seconds a direct delivery may take before the message goes to the propagation node.",
        _int,
    ),
    # NIP-77: negentropy reconciliation served by the relay (minga.relay.negentropy).
    Setting(
        "negentropy_max_items",
        1_000_000,
        "Most events one NEG-OPEN may reconcile; a larger filter is refused (blocked).",
        _int,
    ),
    Setting(
        "negentropy_max_sessions",
        8,
        "Open negentropy (NEG-OPEN) sessions per relay connection.",
        _int,
    ),
    Setting(
        "negentropy_frame_size",
        60_000,
        "Largest negentropy message the relay sends, in bytes (0 for no limit, else >= 4096).",
        _frame_size,
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


class Config:
    """Validated settings; read them as attributes (``config.max_limit``)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    @property
    def data_path(self) -> Path:
        return Path(self._values["data_dir"]).expanduser().resolve()

    @property
    def base_url(self) -> str:
        if self._values["public_url"]:
            return str(self._values["public_url"])
        host = self._values["host"]
        if host in {"0.0.0.0", "::", ""}:  # noqa: S104 - a listen address, shown as loopback
            host = "127.0.0.1"
        return f"http://{host}:{self._values['port']}"

    @property
    def relay_url(self) -> str:
        base = self.base_url
        scheme = "wss" if base.startswith("https://") else "ws"
        return f"{scheme}://{base.split('://', 1)[1]}/relay"


def _parse(setting: Setting, raw: Any, source: str) -> Any:
    try:
        return setting.parse(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {setting.name} from {source}: {exc}") from exc


def load(
    overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Build the configuration: defaults, TOML file, environment, then overrides."""
    environ = os.environ if env is None else env
    values: dict[str, Any] = {s.name: s.parse(s.default) for s in SETTINGS}
    overrides = dict(overrides or {})

    data_dir = overrides.get("data_dir") or environ.get("MINGA_DATA_DIR") or values["data_dir"]
    toml_path = Path(environ.get("MINGA_CONFIG") or Path(str(data_dir)) / "minga.toml")
    if toml_path.is_file():
        try:
            table = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {toml_path}: {exc}") from exc
        for key, raw in table.items():
            if key not in _BY_NAME:
                raise ConfigError(f"{toml_path}: unknown setting {key!r}")
            values[key] = _parse(_BY_NAME[key], raw, str(toml_path))
    for setting in SETTINGS:
        env_name = f"MINGA_{setting.name.upper()}"
        if env_name in environ:
            values[setting.name] = _parse(setting, environ[env_name], env_name)
    for key, raw in overrides.items():
        if key not in _BY_NAME:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = _parse(_BY_NAME[key], raw, "the command line")
    if values["default_limit"] > values["max_limit"]:
        raise ConfigError("default_limit must not exceed max_limit")
    if values["sqlite_synchronous"].upper() not in {"FULL", "NORMAL", "EXTRA"}:
        raise ConfigError("sqlite_synchronous must be FULL, NORMAL or EXTRA")
    url = values["database_url"]
    if url and not url.startswith(("postgresql://", "postgres://", "sqlite:///")):
        raise ConfigError("database_url must be postgresql://… or sqlite:///…")
    return Config(values)
