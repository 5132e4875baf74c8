"""The Blossom target against a real minga node (its Blossom server) on a loopback
port: every file of the site comes back byte for byte with GET /<sha256>."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from minga.blobs.auth import encode_header
from minga.events.kinds import BLOSSOM_AUTH
from minga.events.signing import SecretKey, sign_event
from minga.exceptions import PublishError, RetryLater
from minga.publish.targets import Report, target_for
from minga.publish.targets.blossom import BlossomTarget
from minga.store.ingest import ingest
from tests.proxy import cutting_proxy
from tests.publish.sites import BASE_TIME, build, files_v2, tree

ROOT = Path(__file__).resolve().parents[2]
READER = Path(__file__).with_name("nsite_client.mjs")


def blobs(site) -> dict[str, bytes]:
    return {hashlib.sha256(b).hexdigest(): b for b in site.files.values()}


def fetched(base: str, sha: str) -> httpx.Response:
    return httpx.get(f"{base}/{sha}", timeout=10)


def test_every_file_is_uploaded_and_comes_back_identical(node, newsroom, tmp_path):
    site = build(tmp_path / "site", newsroom.outlet_key)
    target = target_for(f"blossom:{node.base_url}/")
    report = target.deploy(site.root, site.manifest, None)
    assert report == Report(
        files_sent=len(blobs(site)), bytes_sent=sum(map(len, blobs(site).values()))
    )
    for path, data in site.files.items():
        answer = fetched(node.base_url, hashlib.sha256(data).hexdigest())
        assert answer.status_code == 200
        assert answer.content == data
        if path.endswith(".html"):
            assert answer.headers["content-type"].startswith("text/html")
        if path.endswith(".jpg"):
            assert answer.headers["content-type"] == "image/jpeg"
    # The outlet uploaded them: they are listed under its key (BUD-12).
    listing = sign_event(
        newsroom.outlet_key,
        BLOSSOM_AUTH,
        "list",
        [["t", "list"], ["expiration", str(BASE_TIME * 2)]],
    )
    mine = httpx.get(
        f"{node.base_url}/list/{newsroom.outlet_key.pubkey}",
        headers={"Authorization": encode_header(listing)},
        timeout=10,
    ).json()
    assert {d["sha256"] for d in mine} == set(blobs(site))


def test_only_new_blobs_are_sent_and_a_redeploy_sends_nothing(node, newsroom, tmp_path):
    target = target_for(f"blossom:{node.base_url}")
    v1 = build(tmp_path / "site", newsroom.outlet_key)
    target.deploy(v1.root, v1.manifest, None)
    v2 = build(tmp_path / "site", newsroom.outlet_key, files_v2(), BASE_TIME + 60)
    report = target.deploy(v2.root, v2.manifest, v1.manifest)
    new = set(blobs(v2)) - set(blobs(v1))
    assert len(new) == 4
    assert report == Report(
        files_sent=4, bytes_sent=sum(len(blobs(v2)[s]) for s in new), files_deleted=0
    )
    assert target.deploy(v2.root, v2.manifest, v2.manifest) == Report()
    assert target.deploy(v2.root, v2.manifest, None) == Report()  # HEAD tells, not memory
    for sha, data in blobs(v2).items():
        assert fetched(node.base_url, sha).content == data


def test_a_blob_the_server_lost_is_sent_again(node, newsroom, tmp_path):
    site = build(tmp_path / "site", newsroom.outlet_key)
    target = target_for(f"blossom:{node.base_url}")
    target.deploy(site.root, site.manifest, None)
    sha = hashlib.sha256(site.files["/feed.atom"]).hexdigest()
    token = sign_event(
        newsroom.outlet_key,
        BLOSSOM_AUTH,
        "delete",
        [["t", "delete"], ["x", sha], ["expiration", str(BASE_TIME * 2)]],
    )
    gone = httpx.delete(
        f"{node.base_url}/{sha}", headers={"Authorization": encode_header(token)}, timeout=10
    )
    assert gone.status_code == 204
    assert fetched(node.base_url, sha).status_code == 404
    report = target.deploy(site.root, site.manifest, site.manifest)
    assert report.files_sent == 1
    assert fetched(node.base_url, sha).content == site.files["/feed.atom"]


def test_a_connection_cut_mid_way_is_retried_and_completes(node, newsroom, tmp_path):
    site = build(tmp_path / "site", newsroom.outlet_key)
    port = int(node.base_url.rsplit(":", 1)[1])
    with cutting_proxy(port, cuts=[2500]) as proxy:
        via_proxy = BlossomTarget("blossom:proxy", f"http://127.0.0.1:{proxy.port}")
        with pytest.raises(RetryLater):
            via_proxy.deploy(site.root, site.manifest, None)
        assert proxy.done_cuts == [2500]
    there = {s for s in blobs(site) if fetched(node.base_url, s).status_code == 200}
    assert 0 < len(there) < len(blobs(site))  # cut after some uploads, before the last
    report = target_for(f"blossom:{node.base_url}").deploy(site.root, site.manifest, None)
    assert report.files_sent == len(blobs(site)) - len(there)
    for sha, data in blobs(site).items():
        assert fetched(node.base_url, sha).content == data


def test_a_key_the_server_refuses_needs_a_person(node, newsroom, tmp_path):
    stranger = SecretKey.generate()
    site = build(tmp_path / "site", newsroom.outlet_key)
    target = BlossomTarget(f"blossom:{node.base_url}", node.base_url, key=stranger)
    with pytest.raises(PublishError, match="403") as refused:
        target.deploy(site.root, site.manifest, None)
    assert not isinstance(refused.value, RetryLater)


def test_a_server_that_is_down_is_retried(tmp_path):
    from tests.fixtures import free_port

    site = build(tmp_path / "site", SecretKey.generate())
    target = BlossomTarget("blossom:down", f"http://127.0.0.1:{free_port()}", SecretKey.generate())
    with pytest.raises(RetryLater, match="ConnectError"):
        target.deploy(site.root, site.manifest, None)


@pytest.mark.parametrize(
    "url",
    ["blossom:ftp://x", "blossom:https://", "blossom:https://host/path", "blossom:host.example"],
)
def test_malformed_urls_are_config_errors(url):
    from minga.exceptions import ConfigError

    with pytest.raises(ConfigError, match="blossom"):
        target_for(url)


def test_an_nsite_reader_made_by_others_fetches_the_site_back(node, newsroom, tmp_path):
    """NDK reads the manifest from the node's relay, blossom-client-sdk fetches
    every file it lists from the server its ``server`` tag names."""
    for package in ("@nostr-dev-kit/ndk", "blossom-client-sdk"):
        if not (ROOT / "node_modules" / package).is_dir():
            pytest.fail(f"run `npm ci` first: the nsite reader uses {package} from npm")
    # Newer than the manifest of the site the node itself builds on start.
    moment = int(time.time()) + 60
    site = build(
        tmp_path / "site", newsroom.outlet_key, created_at=moment, servers=(node.base_url,)
    )
    target_for(f"blossom:{node.base_url}").deploy(site.root, site.manifest, None)
    assert ingest([site.manifest])[0].ok  # the manifest on the relay
    out = tmp_path / "fetched"
    done = subprocess.run(
        ["node", str(READER), node.relay_url, newsroom.outlet_key.pubkey, str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["id"] == site.manifest.id
    assert tree(out) == site.files
    assert answer["files"]["/index.html"]["type"].startswith("text/html")
    assert answer["files"]["/feed.atom"]["type"] == "application/atom+xml"
