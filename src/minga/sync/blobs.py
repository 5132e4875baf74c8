"""Fetching the blobs that stored events name, by hash, from wherever they are.

Every stored event is read for blob references (:mod:`minga.sync.blobrefs`);
each blob this node lacks becomes a :class:`~minga.sync.models.BlobFetch`
job. A worker thread tries the sources in turn — the peers' Blossom
endpoints, the URLs the event gave, the configured ``blob_servers`` — with
HTTP Range to resume a partial download after a cut or a restart, checks the
sha256 of the whole before it enters the store, and retries with backoff
while no source has it yet (the blob may still be on its way).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from django.db import IntegrityError, connection

from minga.blobs import service as blob_records
from minga.blobs.auth import encode_header
from minga.events.event import Event
from minga.events.kinds import BLOSSOM_AUTH
from minga.events.signing import sign_event
from minga.exceptions import MingaError, RetryLater
from minga.publish import jobs
from minga.publish.models import JobState
from minga.sync import linkstate
from minga.sync.blobrefs import referenced
from minga.sync.models import BlobFetch, Role

if TYPE_CHECKING:
    from minga.blobs.storage import BlobStore
    from minga.config import Config
    from minga.events.signing import SecretKey

log = logging.getLogger(__name__)
CHUNK = 1 << 16
PEER, BLOSSOM = str(Role.PEER), str(Role.BLOSSOM)
RETRY_CAP = 600.0  # a missing blob is looked for again at least every 10 minutes


def http_base(relay_url: str) -> str:
    """The HTTP address of the node whose relay is at ``relay_url``."""
    scheme, rest = relay_url.split("://", 1)
    base = ("https://" if scheme == "wss" else "http://") + rest
    return base[: -len("/relay")] if base.endswith("/relay") else base


class BlobFetcher:
    def __init__(self, config: Config, store: BlobStore) -> None:
        self.config = config
        self.store = store
        self.peers: list[str] = []  # relay URLs of the peers
        self.key: SecretKey | None = None
        self.incoming: queue.Queue[list[Event]] = queue.Queue()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    # -- life ----------------------------------------------------------------------

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="blob-fetcher", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=30)

    def on_stored(self, events: list[Event]) -> None:
        """Store listener (committing thread): look at the new events later."""
        if any(e.tags for e in events):
            self.incoming.put(events)
            self.wake.set()

    # -- the worker ----------------------------------------------------------------

    def _run(self) -> None:
        try:
            jobs.recover(BlobFetch, lambda _job: True)  # a download simply resumes
            with httpx.Client(timeout=httpx.Timeout(60.0, connect=15.0)) as http:
                while not self.stopping.is_set():
                    self._note_new()
                    for job in jobs.claim(BlobFetch, limit=4):
                        if self.stopping.is_set():
                            job.state = JobState.PENDING
                            job.save(update_fields=["state"])
                            continue
                        jobs.run(job, lambda j: self.fetch(http, j))
                    due = jobs.due_in(BlobFetch)
                    if due is None or due > 0:
                        self.wake.wait(timeout=min(due if due is not None else 60.0, 60.0))
                        self.wake.clear()
        except Exception:
            log.exception("the blob fetcher stopped")
        finally:
            connection.close()

    def _note_new(self) -> None:
        while True:
            try:
                events = self.incoming.get_nowait()
            except queue.Empty:
                return
            for event in events:
                for ref in referenced(event):
                    if self.store.exists(ref.sha256):
                        continue
                    with contextlib.suppress(IntegrityError):  # recorded meanwhile
                        BlobFetch.objects.get_or_create(
                            sha256=ref.sha256,
                            defaults={
                                "event_id": event.id,
                                "size": ref.size,
                                "hints": "\n".join(ref.urls),
                            },
                        )

    # -- one blob --------------------------------------------------------------------

    def sources(self, job: BlobFetch) -> list[tuple[str, str, str]]:
        """(role, link URL, blob URL) to try, the peers first."""
        found: list[tuple[str, str, str]] = []
        for relay in self.peers:
            found.append((PEER, relay, f"{http_base(relay)}/{job.sha256}"))
        for hint in job.hints.split():
            found.append((BLOSSOM, hint.rsplit("/", 1)[0], hint))
        for server in self.config.blob_servers:
            found.append((BLOSSOM, server, f"{server}/{job.sha256}"))
        seen: set[str] = set()
        return [s for s in found if not (s[2] in seen or seen.add(s[2]))]  # type: ignore[func-returns-value]

    def partial(self, sha256: str) -> Path:
        self.store.tmp.mkdir(parents=True, exist_ok=True)
        return self.store.tmp / f"fetch-{sha256}"

    def fetch(self, http: httpx.Client, job: BlobFetch) -> None:
        if self.store.exists(job.sha256):
            return
        errors: list[str] = []
        for role, link, url in self.sources(job):
            if self.stopping.is_set():
                raise RetryLater("the node is stopping")
            try:
                size, mime, private = self._download(http, job, url)
            except MingaError as exc:
                errors.append(f"{url}: {exc.message}")
                continue
            except httpx.HTTPError as exc:
                errors.append(f"{url}: {type(exc).__name__}: {exc}")
                if role == BLOSSOM:
                    linkstate.failed(role, link, f"{type(exc).__name__}: {exc}")
                continue
            self._record(job, size, mime, private)
            job.source = url
            linkstate.blob_received(role, link, size)
            log.info("blob %s fetched from %s (%d bytes)", job.sha256[:12], url, size)
            return
        job.source = ""
        raise RetryLater("; ".join(errors)[:1500] or "no source to fetch from", after=None)

    def _auth(self, sha256: str) -> dict[str, str]:
        if self.key is None:
            return {}
        now = int(time.time())
        token = sign_event(
            self.key,
            BLOSSOM_AUTH,
            "fetch a blob for a peer node",
            [["t", "get"], ["x", sha256], ["expiration", str(now + 600)]],
        )
        return {"Authorization": encode_header(token)}

    def _download(self, http: httpx.Client, job: BlobFetch, url: str) -> tuple[int, str, bool]:
        """Fetch into the partial file (resuming it), check, adopt. Returns
        (size, type, private): private when the source served it only with auth."""
        part = self.partial(job.sha256)
        private = False
        for attempt in ("anonymous", "authenticated"):
            headers = self._auth(job.sha256) if attempt == "authenticated" else {}
            have = part.stat().st_size if part.exists() else 0
            if have:
                headers["Range"] = f"bytes={have}-"
            with http.stream("GET", url, headers=headers) as response:
                if response.status_code in (401, 403) and attempt == "anonymous":
                    private = True
                    continue
                if response.status_code == 404:
                    raise RetryLater("not there (404)")
                if response.status_code == 416:  # our partial is already whole (or bad)
                    have = -1
                elif response.status_code not in (200, 206):
                    raise RetryLater(f"HTTP {response.status_code}")
                mime = response.headers.get("content-type", "application/octet-stream")
                if have != -1:
                    self._write(response, part, resume=response.status_code == 206 and have > 0)
            break
        else:  # pragma: no cover - the loop always breaks or raises
            raise RetryLater("refused")
        return self._check(job, part), mime, private

    def _write(self, response: httpx.Response, part: Path, *, resume: bool) -> None:
        limit = int(self.config.max_blob_bytes)
        mode = "ab" if resume else "wb"
        with part.open(mode) as handle:
            written = handle.tell()
            for chunk in response.iter_bytes(CHUNK):
                written += len(chunk)
                if written > limit:
                    handle.close()
                    part.unlink(missing_ok=True)
                    raise RetryLater(f"larger than max_blob_bytes ({limit})")
                handle.write(chunk)
                if self.stopping.is_set():
                    raise RetryLater("the node is stopping (the partial file is kept)")

    def _check(self, job: BlobFetch, part: Path) -> int:
        digest = hashlib.sha256()
        with part.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        size = part.stat().st_size
        if digest.hexdigest() != job.sha256:
            part.unlink(missing_ok=True)
            raise RetryLater(f"the bytes do not match the hash ({size} bytes): discarded")
        sha, _new = self.store.adopt(part)
        assert sha == job.sha256
        return size

    def _record(self, job: BlobFetch, size: int, mime: str, private: bool) -> None:
        owner = _author(job.event_id) or ""
        blob_records.record(job.sha256, size, mime, owner, private=private)
        job.received = size


def _author(event_id: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pubkey FROM minga_event WHERE id = %s", [event_id])
        row: Any = cursor.fetchone()
    return str(row[0]) if row else None
