"""Parts of node ↔ node replication in one process: releases, blob fetching."""

from __future__ import annotations

import hashlib
import os
import time

import httpx
import pytest

from minga.blobs import service as blob_records
from minga.blobs.storage import BlobStore
from minga.events.signing import sign_event
from minga.publish.models import JobState
from minga.store.ingest import ingest
from minga.store.query import get
from minga.sync.blobrefs import referenced
from minga.sync.blobs import BlobFetcher, http_base
from minga.sync.models import BlobFetch
from minga.sync.releases import follow


def _public(event_id: str) -> bool:
    return get(event_id, private=False) is not None


@pytest.mark.parametrize("order", ["dispatch first", "repost first"])
def test_a_replicated_publication_releases_the_dispatch(newsroom, order):
    reporter = newsroom.member()
    dispatch = sign_event(reporter, 30023, "# Marcha\n\ntexto", [["d", "marcha"], ["title", "M"]])
    address = f"30023:{reporter.pubkey}:marcha"
    repost = sign_event(
        newsroom.outlet_key,
        16,
        "",
        [["e", dispatch.id], ["a", address], ["p", reporter.pubkey], ["k", "30023"]],
    )
    first, second = (dispatch, repost) if order == "dispatch first" else (repost, dispatch)
    ingest([first])
    follow([first])
    assert not _public(dispatch.id)
    ingest([second])
    follow([second])
    assert _public(dispatch.id)
    # The outlet deletes its repost (a retraction): the dispatch is withdrawn.
    deletion = sign_event(newsroom.outlet_key, 5, "error de hecho", [["e", repost.id]])
    ingest([deletion])
    follow([deletion])
    assert not _public(dispatch.id)


def test_someone_elses_repost_releases_nothing(newsroom):
    reporter = newsroom.member()
    dispatch = sign_event(reporter, 30023, "texto", [["d", "x"]])
    fake = sign_event(reporter, 16, "", [["e", dispatch.id], ["a", f"30023:{reporter.pubkey}:x"]])
    ingest([dispatch, fake])
    follow([dispatch, fake])
    assert not _public(dispatch.id)


def test_blob_references():
    from minga.events.signing import SecretKey

    key = SecretKey.generate()
    sha, other, orig = "a" * 64, "b" * 64, "c" * 64
    event = sign_event(
        key,
        1,
        "",
        [
            ["imeta", f"url https://x.example/{sha}.jpg", f"x {sha}", "size 12", f"ox {orig}"],
            ["url", f"https://y.example/{other}.png"],
            ["x", "not-a-hash"],
        ],
    )
    refs = {r.sha256: r for r in referenced(event)}
    assert set(refs) == {sha, other, orig}
    assert refs[sha].size == 12
    assert refs[sha].urls == [f"https://x.example/{sha}.jpg"]
    manifest = sign_event(key, 15128, "", [["x", sha, "aggregate"], ["path", "/a", sha]])
    assert referenced(manifest) == []


def test_http_base():
    assert http_base("ws://10.0.0.2:8000/relay") == "http://10.0.0.2:8000"
    assert http_base("wss://nodo.example/relay") == "https://nodo.example"


def node_settings_dir(node):
    from django.conf import settings

    return settings.MINGA.data_path / "blobs"


@pytest.fixture
def served_blob(node, newsroom):
    """A 2 MB blob held by the running node (public)."""
    data = os.urandom(2_000_000)
    store = BlobStore(node_settings_dir(node))
    sha, _new = store.put(data)
    blob_records.record(sha, len(data), "image/jpeg", newsroom.outlet_key.pubkey)
    return sha, data


def test_fetch_resumes_a_partial_download_and_checks_the_hash(
    settings, node, newsroom, served_blob, tmp_path
):
    sha, data = served_blob
    ours = BlobStore(tmp_path / "other-node-blobs")
    fetcher = BlobFetcher(settings.MINGA, ours)
    # Half of it came before the link died.
    fetcher.partial(sha).write_bytes(data[:1_000_000])
    fetcher.peers = [node.relay_url]
    job = BlobFetch.objects.create(sha256=sha, event_id="0" * 64, size=len(data))
    seen: list[tuple[str | None, int, int]] = []

    def record(response: httpx.Response) -> None:
        length = int(response.headers.get("content-length", "-1"))
        seen.append((response.request.headers.get("range"), response.status_code, length))

    with httpx.Client(timeout=30, event_hooks={"response": [record]}) as http:
        fetcher.fetch(http, job)
    assert ours.exists(sha)
    assert hashlib.sha256(ours.path(sha).read_bytes()).hexdigest() == sha
    # Only the missing half came down, asked for with a Range.
    assert seen == [("bytes=1000000-", 206, 1_000_000)]
    assert not fetcher.partial(sha).exists()


def test_corrupt_partial_is_discarded_and_fetched_again(settings, node, served_blob, tmp_path):
    sha, _data = served_blob
    ours = BlobStore(tmp_path / "other")
    fetcher = BlobFetcher(settings.MINGA, ours)
    fetcher.partial(sha).write_bytes(b"\0" * 1000)  # not a prefix of the blob
    fetcher.peers = [node.relay_url]
    job = BlobFetch.objects.create(sha256=sha, event_id="0" * 64)
    with httpx.Client(timeout=30) as http:
        with pytest.raises(Exception, match="do not match"):
            fetcher.fetch(http, job)
        assert not fetcher.partial(sha).exists()
        fetcher.fetch(http, job)  # the next try starts from scratch
    assert ours.verify(sha)


def test_fetcher_thread_retries_until_a_source_has_it(settings, node, newsroom, tmp_path):
    ours = BlobStore(tmp_path / "third")
    fetcher = BlobFetcher(settings.MINGA, ours)
    fetcher.peers = [node.relay_url]
    data = os.urandom(5000)
    sha = hashlib.sha256(data).hexdigest()
    note = sign_event(newsroom.outlet_key, 1, "foto", [["imeta", f"x {sha}", "m image/png"]])
    fetcher.start()
    try:
        fetcher.on_stored([note])
        deadline = time.monotonic() + 30
        while not BlobFetch.objects.filter(sha256=sha, attempts__gte=1).exists():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        job = BlobFetch.objects.get(sha256=sha)
        assert job.state in (JobState.PENDING, JobState.RUNNING)
        assert "404" in job.last_error or job.state == JobState.RUNNING
        # Now the peer gets it; the next try (made due now) fetches it.
        node_store = BlobStore(settings.MINGA.data_path / "blobs")
        node_store.put(data)
        blob_records.record(sha, len(data), "image/png", newsroom.outlet_key.pubkey)
        BlobFetch.objects.filter(sha256=sha).update(next_attempt=0)
        fetcher.wake.set()
        while not ours.exists(sha):
            assert time.monotonic() < deadline + 30
            time.sleep(0.1)
    finally:
        fetcher.stop()
    assert BlobFetch.objects.get(sha256=sha).state == JobState.DONE
