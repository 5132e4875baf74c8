"""Offline editions: the single HTML file and the ZIM archive (checked by zimcheck)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner
from django.conf import settings

from minga.blobs.storage import BlobStore
from minga.events.validate import parse_event
from minga.keys import custody
from minga.keys.models import Purpose
from minga.publish.editions.zim import link_pages, write_zim
from minga.publish.site.builder import SiteBuilder

pytestmark = pytest.mark.django_db(transaction=True)


def build(published, out):
    builder = SiteBuilder(
        published.catalogue(),
        out,
        BlobStore(settings.MINGA.data_path / "blobs"),
        outlet_key=custody.load_purpose(Purpose.OUTLET),
        site_url="https://noticias.example/",
    )
    builder.build_all()
    return builder


def test_single_file_edition_is_self_contained_and_verifiable(published, tmp_path):
    build(published, tmp_path / "site")
    html = (tmp_path / "site/edition.html").read_text()
    assert "Primer día del paro" in html
    assert "General strike, day one" in html
    assert "Bloqueo en el km 12" in html  # the note
    assert "No se confirmó: el herido era de otro bloqueo." in html  # the retraction note
    assert "Un herido en el km 12" not in html
    assert "Sin publicar" not in html
    assert "La primera versión decía dos mil; eran tres mil." in html
    # Nothing to fetch: the photo is inside the file, links only lead away on a click.
    for source in re.findall(r'\ssrc="([^"]*)"', html):
        assert source.startswith("data:image/"), source[:40]
    assert "<link rel=" not in html
    block = re.search(
        r'<script type="application/json" id="signed-events">(.*?)</script>', html, re.S
    )
    events = [parse_event(e) for e in json.loads(block.group(1))]  # every signature checks
    kinds = sorted(e.kind for e in events)
    assert kinds.count(16) == 2
    assert kinds.count(6) == 1
    assert 5 in kinds
    assert all(e.pubkey == published.outlet for e in events if e.kind in (5, 6, 16))


def test_folder_links_point_at_pages_for_kiwix():
    html = b'<a href="../../d/7/">7</a><a href="../../">home</a><a href="https://x.example/">x</a>'
    html += b'<a href="">top</a><a href="t/paro/#a">t</a><img src="../media/a.jpg">'
    assert link_pages(html) == (
        b'<a href="../../d/7/index.html">7</a><a href="../../index.html">home</a>'
        b'<a href="https://x.example/">x</a><a href="index.html">top</a>'
        b'<a href="t/paro/index.html#a">t</a><img src="../media/a.jpg">'
    )


def test_zim_archive_passes_zimcheck(published, tmp_path):
    zimcheck = shutil.which("zimcheck")
    if zimcheck is None:
        pytest.fail("zimcheck is needed: apt-get install zim-tools (.ci/run does)")
    build(published, tmp_path / "site")
    report = write_zim(
        tmp_path / "site",
        tmp_path / "archivo.zim",
        name="minga_prueba",
        title="Prueba",
        description="Despachos de prueba",
        language="es",
        creator="Prueba",
        date="2026-11-27",
    )
    assert report.entries > 20
    checked = subprocess.run([zimcheck, "-A", str(report.path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Overall Test Status: Pass" in checked.stdout

    from libzim.reader import Archive
    from libzim.search import Query, Searcher

    archive = Archive(report.path)
    assert archive.main_entry.get_item().path == "index.html"
    page = bytes(archive.get_entry_by_path("d/0/index.html").get_item().content).decode()
    assert "tres mil" in page
    assert 'href="../../index.html"' in page
    found = Searcher(archive).search(Query().set_query("transporte")).getEstimatedMatches()
    assert found >= 1  # full-text search works offline


def test_cli_writes_the_editions(published, tmp_path):
    from minga.cli import cli

    runner = CliRunner()
    result = runner.invoke(cli, ["publish", "edition", str(tmp_path / "hoy.html")])
    assert result.exit_code == 0, result.output
    assert "Primer día del paro" in (tmp_path / "hoy.html").read_text()
    result = runner.invoke(cli, ["publish", "zim", str(tmp_path / "todo.zim")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "todo.zim").stat().st_size > 10_000
