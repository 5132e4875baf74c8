"""The static site built from a real newsroom's store (SQLite and PostgreSQL)."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import time
from pathlib import Path

import pytest
from django.conf import settings

from minga.blobs.storage import BlobStore
from minga.keys import custody
from minga.keys.models import Purpose
from minga.newsroom import workflow
from minga.publish import manifest as nsite
from minga.publish.catalogue import Catalogue
from minga.publish.site.builder import MANIFEST_FILE, SiteBuilder
from minga.publish.verify import verify
from tests.publish.conftest import BASE_TIME, dispatch
from tests.samples import revealing

pytestmark = pytest.mark.django_db(transaction=True)


def builder(catalogue: Catalogue, out: Path) -> SiteBuilder:
    return SiteBuilder(
        catalogue,
        out,
        BlobStore(settings.MINGA.data_path / "blobs"),
        outlet_key=custody.load_purpose(Purpose.OUTLET),
        site_url="https://noticias.example/",
    )


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def same_site(a: Path, b: Path) -> None:
    """Byte-identical files; the manifests list the same files. (Their times may
    differ by a second: a manifest signed after a change within the same second
    as the one before is dated a second later, so it is still the newest.)"""
    one, two = tree(a), tree(b)
    manifests = [nsite.parse_manifest(t.pop(MANIFEST_FILE)) for t in (one, two)]
    assert one == two
    assert nsite.paths_of(manifests[0]) == nsite.paths_of(manifests[1])


def text_of(folder: Path) -> str:
    return "\n".join(
        data.decode("utf-8", "replace")
        for path, data in tree(folder).items()
        if not path.startswith(("media/", "static/"))
    )


def test_every_page_is_there_and_nothing_unpublished_leaks(published, tmp_path):
    out = tmp_path / "site"
    report = builder(published.catalogue(), out).build_all()
    files = tree(out)
    for path in (
        "index.html",
        "d/0/index.html",
        "d/0/event.json",
        "d/1/index.html",
        "d/2/index.html",
        "archive/index.html",
        "about/index.html",
        "live/index.html",
        "404.html",
        "feed.atom",
        "feed.rss",
        "feed.json",
        "sitemap.xml",
        "t/paronacional/index.html",
        "t/paronacional/feed.atom",
        "t/transporte/index.html",
        "static/live.js",
        MANIFEST_FILE,
    ):
        assert path in files, path
    note = published.keys["note"][:16]
    assert f"n/{note}/index.html" in files
    rosa = [p for p in files if p.startswith("a/") and p.endswith("index.html")]
    assert len(rosa) == 2  # two reporters published
    assert report.pages >= 12
    everything = text_of(out)
    assert "Sin publicar" not in everything  # filed, never published
    assert "Todavía no" not in everything
    assert "Un herido en el km 12" not in everything  # retracted: its content is gone
    assert "Sin confirmar" not in everything
    retracted = files["d/2/index.html"].decode()
    assert "No se confirmó: el herido era de otro bloqueo." in retracted
    first = files["d/0/index.html"].decode()
    assert "<strong>tres mil</strong>" in first  # the newest version
    assert "<strong>dos mil</strong>" not in first
    assert "La primera versión decía dos mil; eran tres mil." in first  # the correction note
    assert 'hreflang="en"' in first  # link to the translation
    assert "Rosa Quispe" in first
    assert "(Lima)" in first
    assert "UTC" in first


def test_media_are_the_clean_copies_with_alt_text(published, tmp_path):
    out = tmp_path / "site"
    builder(published.catalogue(), out).build_all()
    page = (out / "d/0/index.html").read_text()
    main = published.photo["main"]["sha256"]
    assert f"media/{main}.jpg" in page
    assert 'alt="Marcha en la plaza San Martín"' in page
    assert 'loading="lazy"' in page
    assert "srcset=" in page
    media = sorted((out / "media").iterdir())
    assert media
    for path in media:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.stem
        assert revealing(path) == {}, path  # no GPS, camera, serial, owner
    original = published.photo["original"]
    # The original stays private: only its hash is public (ox, NIP-94), never its bytes.
    assert not any(p.stem == original for p in media)
    assert f"media/{original}" not in text_of(out)


def test_no_third_party_requests_and_no_scripts_from_markdown(published, tmp_path):
    hostile = dispatch(
        published.rosa,
        "hostil",
        "Prueba <b>negrita</b>",
        "Texto ![espía](https://tracker.example/pixel.gif) <script>alert(1)</script>"
        " [mal](javascript:alert(1)) <img src=https://tracker.example/x.png>",
        "es",
        BASE_TIME + 2000,
    )
    workflow.publish(hostile.address, published.editor)
    out = tmp_path / "site"
    builder(published.catalogue(), out).build_all()
    for path in out.rglob("*.html"):
        html = path.read_text()
        assert "<script>alert" not in html, path
        assert 'href="javascript:' not in html, path
        for attribute in re.findall(r'(?:src|srcset|poster)="([^"]*)"', html):
            assert "://" not in attribute, (path, attribute)  # nothing fetched from elsewhere
        for stylesheet in re.findall(r'<link rel="stylesheet" href="([^"]*)"', html):
            assert "://" not in stylesheet
    page = (out / "d/3/index.html").read_text()
    assert '<a href="https://tracker.example/pixel.gif"' in page  # shown as a link
    assert "Prueba &lt;b&gt;negrita&lt;/b&gt;" in page


def test_dispatch_page_fits_the_first_round_trip(published, tmp_path):
    long_body = "\n\n".join(
        f"Párrafo {n}: la marcha avanzó por la avenida con consignas y pancartas, "
        "mientras vecinas ofrecían agua desde las ventanas y la policía observaba. " * 4
        for n in range(12)
    )
    assert len(long_body) > 6000
    item = dispatch(
        published.rosa,
        "largo",
        "Una crónica larga de la marcha hacia la plaza",
        long_body,
        "es",
        BASE_TIME + 3000,
        published.photo["imeta"],
    )
    workflow.publish(item.address, published.editor)
    out = tmp_path / "site"
    builder(published.catalogue(), out).build_all()
    for page in ("d/3/index.html", "index.html"):
        compressed = len(gzip.compress((out / page).read_bytes(), 9))
        assert compressed <= 14 * 1024, (page, compressed)


def test_full_rebuild_is_byte_identical(published, tmp_path):
    catalogue = published.catalogue()
    builder(catalogue, tmp_path / "one").build_all()
    builder(catalogue, tmp_path / "two").build_all()
    assert tree(tmp_path / "one") == tree(tmp_path / "two")
    again = builder(published.catalogue(), tmp_path / "one").build_all()
    assert again.written == []
    assert again.removed == []


def test_incremental_updates_touch_only_what_shows_the_item(published, tmp_path):
    catalogue = published.catalogue()
    site = builder(catalogue, tmp_path / "live")
    site.build_all()
    untouched = (tmp_path / "live/d/1/index.html").read_bytes()

    new = dispatch(
        published.rosa,
        "dia-2",
        "Segundo día",
        "Sigue el paro.",
        "es",
        BASE_TIME + 4000,
        ["t", "nuevo"],
    )
    workflow.publish(new.address, published.editor)
    report = site.update(catalogue.refresh([new.address]))
    written = set(report.written)
    assert "d/3/index.html" in written
    assert "d/3/event.json" in written
    assert {"index.html", "feed.atom", "t/nuevo/index.html", MANIFEST_FILE} <= written
    assert "d/1/index.html" not in written
    assert "t/puno/index.html" not in written  # a list that does not show it
    assert (tmp_path / "live/d/1/index.html").read_bytes() == untouched

    workflow.retract(new.address, published.editor, "Publicado por error.")
    report = site.update(catalogue.refresh([new.address]))
    assert "t/nuevo/index.html" in report.removed  # no public item has the tag any more
    assert "Publicado por error." in (tmp_path / "live/d/3/index.html").read_text()

    builder(published.catalogue(), tmp_path / "full").build_all()
    same_site(tmp_path / "live", tmp_path / "full")


def test_a_correction_updates_the_page_and_the_feeds(published, tmp_path):
    catalogue = published.catalogue()
    site = builder(catalogue, tmp_path / "live")
    site.build_all()
    key = published.keys["translation"]
    workflow.revise(
        key,
        published.editor,
        content="Public transport stopped before dawn.\n\nSome **three thousand** people march.",
        correction="We first said two thousand.",
    )
    report = site.update(catalogue.refresh([key]))
    assert "d/1/index.html" in report.written
    assert "feed.atom" in report.written
    assert "three thousand" in (tmp_path / "live/feed.atom").read_text()
    builder(published.catalogue(), tmp_path / "full").build_all()
    same_site(tmp_path / "live", tmp_path / "full")


def test_manifest_lists_every_file_and_catches_tampering(published, tmp_path):
    out = tmp_path / "site"
    built = builder(published.catalogue(), out).build_all()
    manifest = nsite.parse_manifest((out / MANIFEST_FILE).read_bytes())
    assert manifest.id == built.manifest.id
    assert manifest.kind == 15128
    assert manifest.pubkey == published.outlet
    nsite.check_manifest(manifest, published.outlet)
    listed = nsite.paths_of(manifest)
    on_disk = {"/" + p for p in tree(out) if p != MANIFEST_FILE}
    assert set(listed) == on_disk
    for path, sha in listed.items():
        assert hashlib.sha256((out / path.lstrip("/")).read_bytes()).hexdigest() == sha

    assert verify(str(out), published.outlet).intact
    page = out / "d/0/index.html"
    data = bytearray(page.read_bytes())
    data[500] ^= 1  # one bit of one byte
    page.write_bytes(bytes(data))
    (out / "feed.rss").unlink()
    (out / "d/0/extra.html").write_text("<p>planted</p>")
    verdict = verify(str(out), published.outlet)
    assert verdict.altered == ["/d/0/index.html"]
    assert verdict.missing == ["/feed.rss"]
    assert verdict.extra == ["/d/0/extra.html"]
    assert not verdict.intact


def test_a_manifest_signed_by_another_key_is_not_trusted(published, tmp_path, make_key):
    out = tmp_path / "site"
    builder(published.catalogue(), out).build_all()
    forger = make_key()
    forged = nsite.sign_manifest(forger, {"/index.html": "0" * 64}, int(time.time()))
    (out / MANIFEST_FILE).write_text(forged.to_json())
    with pytest.raises(Exception, match="no manifest signed by the outlet"):
        verify(str(out), published.outlet)


def test_event_json_holds_the_signed_proofs(published, tmp_path):
    from minga.events.validate import parse_event

    out = tmp_path / "site"
    builder(published.catalogue(), out).build_all()
    events = [parse_event(e) for e in json.loads((out / "d/0/event.json").read_text())]
    repost, *versions = events
    assert repost.kind == 16
    assert repost.pubkey == published.outlet
    assert ["number", "0"] in repost.tags
    assert [v.kind for v in versions] == [30023, 30023]  # published version, correction
    assert all(v.pubkey == published.rosa.pubkey for v in versions)
    retracted = json.loads((out / "d/2/event.json").read_text())
    assert [e["kind"] for e in retracted] == [5]


def test_drafts_edited_before_publication_stay_private(newsroom, tmp_path):
    from minga.events.filters import Filter
    from minga.newsroom import people
    from minga.store.query import query

    editor = people.create_person("ed", "una clave larga de prueba", "Ed", "editor").user
    rosa = people.create_person("ro", "una clave larga de prueba", "Ro", "reporter")
    draft = dispatch(rosa, "fuente", "Borrador", "Según Juana Pérez, vecina…", "es", BASE_TIME)
    workflow.revise(draft.address, editor, content="Según una vecina…")
    workflow.publish(draft.address, editor)
    public = {r.id for r in query([Filter(kinds=frozenset([30023]))])}
    assert draft.id not in public  # the source's name never becomes public
    assert len(public) == 1
    catalogue = Catalogue.load(newsroom.outlet_key.pubkey)
    out = tmp_path / "site"
    builder(catalogue, out).build_all()
    assert "Juana Pérez" not in text_of(out)


def test_site_language_follows_the_outlet(published, tmp_path):
    spanish = SiteBuilder(
        published.catalogue(),
        tmp_path / "es",
        BlobStore(settings.MINGA.data_path / "blobs"),
        language="es",
    )
    spanish.build_all()
    page = (tmp_path / "es/d/0/index.html").read_text()
    assert '<html lang="es">' in page
    assert "Despacho #0" in page
    assert "Corrección" in page
    assert "Archivo" in page
    english = tmp_path / "en"
    SiteBuilder(
        published.catalogue(), english, BlobStore(settings.MINGA.data_path / "blobs"), language="en"
    ).build_all()
    assert "Dispatch #0" in (english / "d/0/index.html").read_text()


def test_who_is_live_shows_on_the_home_and_live_pages(published, tmp_path):
    from minga.events.signing import sign_event
    from minga.store.ingest import ingest

    outlet = custody.load_purpose(Purpose.OUTLET)
    catalogue = published.catalogue()
    site = builder(catalogue, tmp_path / "site")
    site.build_all()
    assert "data-hls" not in (tmp_path / "site/live/index.html").read_text()

    def stream(status: str, at: int):
        tags = [
            ["d", "marcha-en-vivo"],
            ["title", "La marcha, en vivo"],
            ["streaming", "https://noticias.example/live/marcha/index.m3u8"],
            ["status", status],
            ["p", published.rosa.pubkey, "", "Host"],
        ]
        assert ingest([sign_event(outlet, 30311, "", tags, at)])[0].ok

    stream("live", int(time.time()) - 60)
    catalogue.refresh_live()
    report = site.update(set())
    assert {"index.html", "live/index.html"} <= set(report.written)
    live = (tmp_path / "site/live/index.html").read_text()
    assert 'data-hls="https://noticias.example/live/marcha/index.m3u8"' in live
    assert '<script src="../static/live.js"></script>' in live
    assert (tmp_path / "site/static/hls.light.min.js").is_file()  # served with the site
    assert "La marcha, en vivo" in (tmp_path / "site/index.html").read_text()

    stream("ended", int(time.time()))
    catalogue.refresh_live()
    site.update(set())
    assert "La marcha, en vivo" not in (tmp_path / "site/index.html").read_text()
    assert "data-hls" not in (tmp_path / "site/live/index.html").read_text()
