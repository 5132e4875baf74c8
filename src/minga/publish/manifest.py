"""The signed site manifest (NIP-5A): path → sha256 of every file of the site.

The outlet key signs a root-site manifest (kind 15128) listing every file of
a built site, with the aggregate hash of the spec in an ``x`` tag. Whoever
holds a copy of the site (a folder, a bucket, a USB stick, a Blossom server)
can check it against the newest manifest signed by the outlet: nothing can
be altered, added or left out unseen.

The manifest is also written into the site as ``/.well-known/nsite.json`` so a
copy carries its own proof; that file is the one path the manifest does not
list (it cannot contain its own hash). Signing is deterministic (fixed
auxiliary randomness, ``created_at`` from the content), so rebuilding the same
site gives the same bytes, manifest included.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping
from pathlib import Path

from minga.events.event import Event, compute_id
from minga.events.signing import SecretKey, verify_signature
from minga.events.validate import Limits, parse_event_json
from minga.exceptions import InvalidInput

ROOT_SITE = 15128
NAMED_SITE = 35128
SNAPSHOT = 5128
MANIFEST_KINDS = (ROOT_SITE, NAMED_SITE, SNAPSHOT)
MANIFEST_PATH = "/.well-known/nsite.json"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# BIP-340 allows any auxiliary data; a fixed one makes signatures reproducible
# (the nonce still depends on the key and the message).
_AUX = bytes(32)
# A manifest lists every file of the site: far more tags than a dispatch.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
MANIFEST_LIMITS = Limits(max_event_tags=1_000_000, max_json_bytes=64 << 20)


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def aggregate(paths: Mapping[str, str]) -> str:
    """NIP-5A aggregate hash: sorted ``<sha256> <path>\\n`` lines, hashed."""
    lines = sorted(f"{sha} {path}\n" for path, sha in paths.items())
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def paths_of(manifest: Event) -> dict[str, str]:
    return {t[1]: t[2] for t in manifest.tags if t[0] == "path" and len(t) >= 3}


def build_tags(
    paths: Mapping[str, str], title: str = "", servers: Iterable[str] = ()
) -> list[list[str]]:
    tags = [["path", path, paths[path]] for path in sorted(paths)]
    tags.append(["x", aggregate(paths), "aggregate"])
    tags += [["server", url] for url in servers]
    if title:
        tags.append(["title", title])
    return tags


def sign_manifest(
    key: SecretKey,
    paths: Mapping[str, str],
    created_at: int,
    title: str = "",
    servers: Iterable[str] = (),
) -> Event:
    """A kind 15128 manifest of ``paths`` signed by ``key``, reproducibly."""
    for path, sha in paths.items():
        if not path.startswith("/") or not _HEX64.match(sha):
            raise InvalidInput(f"not a manifest entry: {path!r} {sha!r}")
    tags = build_tags(paths, title, servers)
    event_id = compute_id(key.pubkey, created_at, ROOT_SITE, tags, "")
    sig = key.sign_digest_with(bytes.fromhex(event_id), _AUX).hex()
    return Event(event_id, key.pubkey, created_at, ROOT_SITE, tags, "", sig)


class Listing:
    """The path tags of a site being built, kept sorted as files come and go, so
    signing the manifest of a big site after one change costs little."""

    def __init__(self) -> None:
        self.paths: dict[str, str] = {}
        self._order: list[str] = []  # paths, sorted
        self._lines: list[str] = []  # "<sha256> <path>\n", sorted (the aggregate's order)
        self._json: dict[str, str] = {}  # path -> the tag's canonical JSON
        self._tags: list[list[str]] = []  # the path tags, in path order
        self._aggregate: str | None = None

    def set(self, path: str, sha: str) -> None:
        old = self.paths.get(path)
        if old == sha:
            return
        tag = ["path", path, sha]
        if old is None:
            at = bisect_left(self._order, path)
            self._order.insert(at, path)
            self._tags.insert(at, tag)
        else:
            del self._lines[bisect_left(self._lines, f"{old} {path}\n")]
            self._tags[bisect_left(self._order, path)] = tag
        insort(self._lines, f"{sha} {path}\n")
        self.paths[path] = sha
        self._json[path] = _dumps(tag)
        self._aggregate = None

    def drop(self, path: str) -> None:
        sha = self.paths.pop(path, None)
        if sha is None:
            return
        at = bisect_left(self._order, path)
        del self._order[at]
        del self._tags[at]
        del self._lines[bisect_left(self._lines, f"{sha} {path}\n")]
        del self._json[path]
        self._aggregate = None

    def aggregate(self) -> str:
        if self._aggregate is None:
            self._aggregate = hashlib.sha256("".join(self._lines).encode("utf-8")).hexdigest()
        return self._aggregate

    def sign(
        self, key: SecretKey, created_at: int, title: str = "", servers: Iterable[str] = ()
    ) -> tuple[Event, str]:
        """The signed manifest (same bytes as ``sign_manifest``) and its JSON."""
        extra: list[list[str]] = [["x", self.aggregate(), "aggregate"]]
        extra += [["server", url] for url in servers]
        if title:
            extra.append(["title", title])
        pieces = [self._json[path] for path in self._order] + [_dumps(t) for t in extra]
        tags_json = "[" + ",".join(pieces) + "]"
        canonical = f'[0,"{key.pubkey}",{created_at},{ROOT_SITE},{tags_json},""]'
        event_id = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        sig = key.sign_digest_with(bytes.fromhex(event_id), _AUX).hex()
        tags = [*self._tags, *extra]
        event = Event(event_id, key.pubkey, created_at, ROOT_SITE, tags, "", sig)
        raw = (
            f'{{"id":"{event_id}","pubkey":"{key.pubkey}","created_at":{created_at},'
            f'"kind":{ROOT_SITE},"tags":{tags_json},"content":"","sig":"{sig}"}}'
        )
        return event, raw


def check_manifest(manifest: Event, outlet: str | None = None) -> None:
    """Raise InvalidInput unless this is an intact manifest (by ``outlet``, if given)."""
    if manifest.kind not in MANIFEST_KINDS:
        raise InvalidInput(f"kind {manifest.kind} is not a site manifest")
    if outlet is not None and manifest.pubkey != outlet:
        raise InvalidInput("the manifest is not signed by the outlet's key")
    if compute_id(
        manifest.pubkey, manifest.created_at, manifest.kind, manifest.tags, manifest.content
    ) != manifest.id or not verify_signature(manifest):
        raise InvalidInput("the manifest's signature does not verify")
    paths = paths_of(manifest)
    if not paths:
        raise InvalidInput("the manifest lists no files")
    stated = [t[1] for t in manifest.tags if t[0] == "x" and len(t) >= 3 and t[2] == "aggregate"]
    if stated and stated[0] != aggregate(paths):
        raise InvalidInput("the manifest's aggregate hash does not match its paths")


def parse_manifest(text: str | bytes) -> Event:
    """A manifest from JSON (a file, a relay answer), checked."""
    event = parse_event_json(text, MANIFEST_LIMITS)
    check_manifest(event)
    return event
