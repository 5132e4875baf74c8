"""Checking a copy of the site (a folder or an address) against the newest
manifest signed by the outlet (NIP-5A).

The newest manifest is the newest validly signed one among those found: the
copy's own ``.well-known/nsite.json``, the outlet's relays (``--relay``), and
this node's store when run on a node. It must be signed by the outlet's key:
given with ``--outlet``, else this node's outlet; with neither, the key in the
copy's own manifest is used and the report says the key was not pinned (a
forger can sign a forged copy with their own key).

Every file the manifest lists is hashed: a different hash is *altered*, an
absent file *missing*. In a folder every other file is *extra*. Over HTTP,
where a server cannot be listed, every local link and source of every listed
page is followed, and any that answers but is not listed is *extra*.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from minga.events.event import Event
from minga.exceptions import InvalidInput, MingaError, NotFound
from minga.publish.manifest import (
    MANIFEST_PATH,
    ROOT_SITE,
    check_manifest,
    file_hash,
    parse_manifest,
    paths_of,
)

MAX_FILE_BYTES = 2 << 30
TIMEOUT = 30.0


@dataclass
class Verdict:
    location: str
    manifest: Event
    source: str  # where the newest manifest came from
    pinned: bool  # the outlet key was given or known, not taken from the copy
    checked: int = 0
    altered: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    copy_manifest: Event | None = None  # the manifest the copy carries

    @property
    def stale(self) -> bool:
        """The copy carries an older manifest than the newest one."""
        return self.copy_manifest is None or self.copy_manifest.id != self.manifest.id

    @property
    def intact(self) -> bool:
        return not (self.altered or self.missing or self.extra)

    def as_json(self) -> dict[str, object]:
        return {
            "location": self.location,
            "manifest": self.manifest.id,
            "outlet": self.manifest.pubkey,
            "created_at": self.manifest.created_at,
            "source": self.source,
            "pinned": self.pinned,
            "checked": self.checked,
            "altered": self.altered,
            "missing": self.missing,
            "extra": self.extra,
            "stale": self.stale,
            "intact": self.intact,
        }


# -- reading a copy ---------------------------------------------------------
class Copy(ABC):
    @abstractmethod
    def manifest(self) -> Event | None:
        """The manifest the copy carries, if any (checked)."""

    @abstractmethod
    def sha256(self, path: str) -> str | None:
        """Hash of the file at ``path`` (absolute in the site), None when absent."""

    @abstractmethod
    def extras(self, listed: dict[str, str]) -> list[str]:
        """Files of the copy the manifest does not list."""

    def close(self) -> None:
        return None


class FolderCopy(Copy):
    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise NotFound(f"{folder} is not a folder")
        self.root = folder.resolve()

    def _file(self, path: str) -> Path | None:
        candidate = (self.root / path.lstrip("/")).resolve()
        if self.root not in candidate.parents or not candidate.is_file():
            return None
        return candidate

    def manifest(self) -> Event | None:
        found = self._file(MANIFEST_PATH)
        if found is None:
            return None
        return parse_manifest(found.read_bytes())

    def sha256(self, path: str) -> str | None:
        found = self._file(path)
        return file_hash(found) if found is not None else None

    def extras(self, listed: dict[str, str]) -> list[str]:
        found = []
        for folder, _dirs, names in os.walk(self.root):
            for name in names:
                relative = Path(folder, name).relative_to(self.root).as_posix()
                path = "/" + relative
                if path not in listed and path != MANIFEST_PATH:
                    found.append(path)
        return sorted(found)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("href", "src", "poster"):
                self.links.append(value)
            elif value and name == "srcset":
                self.links += [part.strip().split(" ")[0] for part in value.split(",")]


class HttpCopy(Copy):
    def __init__(self, url: str, client: httpx.Client | None = None) -> None:
        if not url.endswith("/"):
            url += "/"
        self.base = url
        self.client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=True)
        self._pages: dict[str, bytes] = {}

    def url(self, path: str) -> str:
        return self.base + path.lstrip("/")

    def _get(self, path: str) -> bytes | None:
        try:
            response = self.client.get(self.url(path))
        except httpx.HTTPError as exc:
            raise MingaError(f"cannot reach {self.url(path)}: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise MingaError(f"{self.url(path)} answered {response.status_code}")
        if len(response.content) > MAX_FILE_BYTES:
            raise InvalidInput(f"{self.url(path)} is larger than {MAX_FILE_BYTES} bytes")
        return response.content

    def manifest(self) -> Event | None:
        body = self._get(MANIFEST_PATH)
        return parse_manifest(body) if body is not None else None

    def sha256(self, path: str) -> str | None:
        body = self._get(path)
        if body is None:
            return None
        if path.endswith(".html"):
            self._pages[path] = body
        return hashlib.sha256(body).hexdigest()

    def _local(self, page: str, link: str) -> str | None:
        """The site path a link on ``page`` points to, if it stays in the site."""
        target = urljoin(self.url(page), link.split("#", 1)[0])
        if not target.startswith(self.base) or urlsplit(target).query:
            return None
        path = "/" + target[len(self.base) :]
        return path + "index.html" if path.endswith("/") else path

    def extras(self, listed: dict[str, str]) -> list[str]:
        seen: set[str] = set()
        for page, body in self._pages.items():
            parser = _Links()
            parser.feed(body.decode("utf-8", "replace"))
            for link in parser.links:
                path = self._local(page, link)
                if path is not None and path not in listed and path != MANIFEST_PATH:
                    seen.add(path)
        extra = []
        for path in sorted(seen):
            try:
                response = self.client.head(self.url(path))
            except httpx.HTTPError:
                continue
            if response.status_code == 200:
                extra.append(path)
        return extra

    def close(self) -> None:
        self.client.close()


def open_copy(location: str) -> Copy:
    if location.startswith(("http://", "https://")):
        return HttpCopy(location)
    return FolderCopy(Path(location))


# -- finding the newest manifest ----------------------------------------------
def from_relay(url: str, outlet: str, timeout: float = 15.0) -> list[Event]:
    """The outlet's root-site manifests a relay holds (NIP-01 REQ)."""
    from websockets.sync.client import connect

    found: list[Event] = []
    subscription = uuid.uuid4().hex[:16]
    request = {"kinds": [ROOT_SITE], "authors": [outlet], "limit": 1}
    try:
        with connect(url, open_timeout=timeout, max_size=64 << 20) as ws:
            ws.send(json.dumps(["REQ", subscription, request]))
            while True:
                message = json.loads(ws.recv(timeout=timeout))
                if message[0] == "EVENT" and message[1] == subscription:
                    try:
                        found.append(parse_manifest(json.dumps(message[2])))
                    except MingaError:
                        continue
                elif message[0] in ("EOSE", "CLOSED") and message[1] == subscription:
                    break
    except (OSError, TimeoutError, ValueError) as exc:
        raise MingaError(f"cannot read manifests from {url}: {exc}") from exc
    except Exception as exc:  # websockets' own errors
        raise MingaError(f"cannot read manifests from {url}: {exc}") from exc
    return found


def newest(candidates: Iterable[tuple[Event, str]], outlet: str) -> tuple[Event, str]:
    valid = []
    for manifest, source in candidates:
        try:
            check_manifest(manifest, outlet)
        except InvalidInput:
            continue
        valid.append((manifest, source))
    if not valid:
        raise NotFound("no manifest signed by the outlet's key was found")
    return max(valid, key=lambda pair: (pair[0].created_at, pair[0].id))


def verify(
    location: str,
    outlet: str | None = None,
    relays: Iterable[str] = (),
    known: Iterable[tuple[Event, str]] = (),
) -> Verdict:
    """Check the copy at ``location`` against the newest manifest of ``outlet``."""
    copy = open_copy(location)
    try:
        own = copy.manifest()
        pinned = outlet is not None
        if outlet is None:
            if own is None:
                raise NotFound(
                    "the copy carries no manifest and no outlet key was given (--outlet npub…)"
                )
            outlet = own.pubkey
        candidates = list(known)
        if own is not None:
            candidates.append((own, "the copy"))
        for relay in relays:
            candidates += [(m, relay) for m in from_relay(relay, outlet)]
        manifest, source = newest(candidates, outlet)
        verdict = Verdict(location, manifest, source, pinned, copy_manifest=own)
        listed = paths_of(manifest)
        for path in sorted(listed):
            verdict.checked += 1
            found = copy.sha256(path)
            if found is None:
                verdict.missing.append(path)
            elif found != listed[path]:
                verdict.altered.append(path)
        verdict.extra = copy.extras(listed)
        return verdict
    finally:
        copy.close()
