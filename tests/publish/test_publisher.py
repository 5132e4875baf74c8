"""A running node publishes: from the desk's "publish" to the site it serves,
the signed manifest in its store, a folder mirror and the feeds."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import httpx
import pytest

from minga.events.filters import Filter
from minga.newsroom import people, workflow
from minga.publish import manifest as nsite
from minga.publish.verify import verify
from minga.store.query import query
from tests.publish.conftest import BASE_TIME, dispatch


@pytest.fixture
def mirror(tmp_path) -> Path:
    return tmp_path / "mirror"


@pytest.fixture
def node_settings(mirror):
    return {"publish_targets": f"folder:{mirror}", "language": "es"}


def wait_for(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def served(base: str, path: str, needle: str) -> bool:
    answer = httpx.get(f"{base}/site/{path}")
    return answer.status_code == 200 and needle in answer.text


def test_publish_reaches_the_site_the_manifest_the_mirror_and_the_feeds(node, mirror):
    editor = people.create_person("editora", "una clave larga de prueba", "Editora", "editor")
    rosa = people.create_person("rosa", "una clave larga de prueba", "Rosa Quispe", "reporter")
    item = dispatch(rosa, "dia-1", "Primer día del paro", "Sin transporte.", "es", BASE_TIME)
    assert not served(node.base_url, "d/0/", "Primer día")
    workflow.publish(item.address, editor.user)

    wait_for(lambda: served(node.base_url, "d/0/", "Primer día del paro"))
    wait_for(lambda: served(node.base_url, "feed.atom", "Primer día del paro"))
    wait_for(lambda: (mirror / "d/0/index.html").is_file())

    def manifest_stored():
        rows = query([Filter(kinds=frozenset([15128]), limit=1)])
        if not rows:
            return None
        manifest = rows[0].event()
        return manifest if "/d/0/index.html" in nsite.paths_of(manifest) else None

    manifest = wait_for(manifest_stored)
    outlet = manifest.pubkey
    assert verify(f"{node.base_url}/site/", outlet).intact  # the copy the node serves
    wait_for(lambda: verify(str(mirror), outlet).intact)  # the folder mirror
    assert "Primer día del paro" in (mirror / "feed.rss").read_text()

    workflow.retract(item.address, editor.user, "Publicado por error.")
    wait_for(lambda: served(node.base_url, "d/0/", "Publicado por error."))
    wait_for(lambda: "Publicado por error." in (mirror / "d/0/index.html").read_text())
    assert "Sin transporte" not in httpx.get(f"{node.base_url}/site/feed.atom").text


def test_the_node_serves_the_site_lightly_and_safely(node):
    wait_for(lambda: served(node.base_url, "", "<html"))
    assert httpx.get(f"{node.base_url}/site", follow_redirects=False).status_code == 301
    home = httpx.get(f"{node.base_url}/site/", headers={"Accept-Encoding": "gzip"})
    assert home.headers["content-encoding"] == "gzip"
    assert "default-src 'none'" in home.headers["content-security-policy"]
    assert len(gzip.compress(home.content)) < 14 * 1024
    missing = httpx.get(f"{node.base_url}/site/no/such/page/")
    assert missing.status_code == 404
    assert "<html" in missing.text  # the site's own 404 page
    escape = httpx.get(f"{node.base_url}/site/../secrets/vault.key")
    assert escape.status_code == 404
    assert httpx.post(f"{node.base_url}/site/").status_code == 405
    feed = httpx.get(f"{node.base_url}/site/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
