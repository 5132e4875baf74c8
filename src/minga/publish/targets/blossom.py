"""A Blossom server (BUD-01/02/11): every file of the site as a blob.

With the blobs on a Blossom server and the signed manifest (kind 15128) on a
relay, any nsite gateway (NIP-5A) can serve the site: it reads the manifest,
finds the sha256 of the path asked for and fetches that blob, from the
manifest's ``server`` tags first.

For each distinct file the target asks ``HEAD /<sha256>``; a blob already
there is not sent again (so a redeploy sends nothing, and a blob lost by the
server is sent on the next deploy). Otherwise ``PUT /upload`` sends it with
its Content-Type, ``X-SHA-256`` and a BUD-11 authorization (kind 24242,
``t=upload``, ``x=<sha256>``, the server's domain, a short expiration) signed
by the outlet key, and the descriptor the server answers must name the same
hash and size.

Nothing is deleted: a blob is named by its content and may serve other
versions of the site or other posts (photos are the newsroom's own blobs),
and servers keep or drop blobs by their own rules. The manifest file itself
(``/.well-known/nsite.json``) is not a blob of the site: the manifest goes to
relays.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx

from minga.blobs.auth import encode_header
from minga.events.event import Event
from minga.events.kinds import BLOSSOM_AUTH
from minga.events.signing import SecretKey, sign_event
from minga.exceptions import PublishError, RetryLater
from minga.publish.targets.base import Report
from minga.publish.targets.sitefiles import SiteFile, content_type, manifest_bytes, site_files

TOKEN_SECONDS = 300
_CHUNK = 1 << 16


class BlossomTarget:
    def __init__(self, url: str, server: str, key: SecretKey | None = None) -> None:
        self.url = url
        self.server = server  # https://host[:port], no trailing slash
        self._key = key  # the outlet key by default, loaded when deploying

    @property
    def domain(self) -> str:
        return (urlparse(self.server).hostname or "").lower()

    def key(self) -> SecretKey:
        if self._key is None:
            from minga.keys import custody
            from minga.keys.models import Purpose

            self._key = custody.load_purpose(Purpose.OUTLET)
        return self._key

    def deploy(self, site: Path, manifest: Event, previous: Event | None) -> Report:
        manifest_bytes(site, manifest)  # the site must hold this version
        files = site_files(site, manifest)
        unique: dict[str, SiteFile] = {}
        for item in files:
            unique.setdefault(item.sha256, item)
        key = self.key()
        sent = sent_bytes = 0
        try:
            with httpx.Client(
                base_url=self.server,
                timeout=httpx.Timeout(30.0, read=120.0, write=120.0),
                headers={"User-Agent": "minga"},
            ) as client:
                for sha, item in unique.items():
                    if self._has(client, sha):
                        continue
                    self._upload(client, key, item)
                    sent += 1
                    sent_bytes += item.size
        except httpx.TransportError as exc:  # refused, cut, timed out
            raise RetryLater(f"{self.server}: {type(exc).__name__}: {exc}") from exc
        return Report(files_sent=sent, bytes_sent=sent_bytes)

    def _has(self, client: httpx.Client, sha: str) -> bool:
        answer = client.head(f"/{sha}")
        if answer.status_code == 200:
            return True
        if answer.status_code in (401, 403, 404):  # unknown, or hidden from strangers
            return False
        raise self._refusal("HEAD", sha, answer)

    def authorization(self, key: SecretKey, sha: str) -> str:
        now = int(time.time())
        tags = [["t", "upload"], ["x", sha], ["expiration", str(now + TOKEN_SECONDS)]]
        if self.domain:
            tags.append(["server", self.domain])
        return encode_header(sign_event(key, BLOSSOM_AUTH, "Upload a file of the site", tags))

    def _upload(self, client: httpx.Client, key: SecretKey, item: SiteFile) -> None:
        digest = hashlib.sha256()

        def body() -> Iterator[bytes]:
            with item.source.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
                    yield chunk

        answer = client.put(
            "/upload",
            content=body(),
            headers={
                "Authorization": self.authorization(key, item.sha256),
                "Content-Type": content_type(item.path),
                "Content-Length": str(item.size),
                "X-SHA-256": item.sha256,
            },
        )
        if digest.hexdigest() != item.sha256:
            raise RetryLater(f"{item.source} does not match the manifest (site rebuilt?)")
        if answer.status_code not in (200, 201):
            raise self._refusal("PUT /upload", item.sha256, answer)
        try:
            descriptor = answer.json()
            same = descriptor["sha256"] == item.sha256 and int(descriptor["size"]) == item.size
        except (ValueError, KeyError, TypeError) as exc:
            raise PublishError(f"{self.server} answered an upload without a descriptor") from exc
        if not same:
            raise PublishError(f"{self.server} stored {item.path} with another hash or size")

    def _refusal(self, what: str, sha: str, answer: httpx.Response) -> PublishError:
        reason = answer.headers.get("x-reason") or answer.text[:200].strip()
        text = f"{self.server}: {what} {sha[:12]}…: {answer.status_code} {reason}".strip()
        if answer.status_code >= 500 or answer.status_code in (408, 429):
            after = answer.headers.get("retry-after", "")
            return RetryLater(text, after=float(after) if after.isdigit() else None)
        return PublishError(text)
