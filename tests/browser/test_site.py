"""A reader on a phone with JavaScript off reads the built site from a plain
web server; nothing is fetched from anywhere else."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from minga.blobs.storage import BlobStore
from minga.keys import custody
from minga.keys.models import Purpose
from minga.publish.site.builder import SiteBuilder
from tests.browser.conftest import AXE
from tests.fixtures import free_port, wait_http
from tests.publish.conftest import published  # noqa: F401 - the fixture

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def web_server(published, tmp_path) -> Iterator[str]:  # noqa: F811
    site = tmp_path / "site"
    SiteBuilder(
        published.catalogue(),
        site,
        BlobStore(settings.MINGA.data_path / "blobs"),
        outlet_key=custody.load_purpose(Purpose.OUTLET),
        language="es",
    ).build_all()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=site,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_reader_without_javascript_reads_a_dispatch(browser, web_server):
    context = browser.new_context(java_script_enabled=False, **PHONE)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(web_server + "/")
    assert page.locator("h1").inner_text() == "Lo último"
    page.get_by_role("link", name="Primer día del paro").click()
    page.wait_for_url(web_server + "/d/0/")
    assert page.locator("h1").inner_text() == "Primer día del paro"
    article = page.locator("article").inner_text()
    assert "tres mil" in article
    assert "Corrección" in article
    assert "Rosa Quispe" in article
    photo = page.get_by_role("img", name="Marcha en la plaza San Martín")
    photo.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=photo.element_handle(), timeout=10_000
    )
    page.get_by_role("link", name="English").click()  # the translation
    page.wait_for_url(web_server + "/d/1/")
    assert "three thousand" not in page.locator("article").inner_text()  # not corrected
    page.get_by_role("link", name="Archivo").first.click()
    assert "Retractado" in page.locator("main").inner_text()
    page.get_by_role("link", name="Retractado").click()
    assert "No se confirmó" in page.locator("article").inner_text()
    context.close()
    assert requested
    assert all(url.startswith(web_server) for url in requested), [
        u for u in requested if not u.startswith(web_server)
    ]


def test_site_pages_have_no_serious_accessibility_violations(browser, web_server):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    for path in ("/", "/d/0/", "/archive/", "/about/", "/live/"):
        page.goto(web_server + path)
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document)")
        serious = [
            (v["id"], v["help"])
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], (path, serious)
    context.close()


def test_the_offline_edition_opens_from_a_file(browser, web_server, tmp_path):
    import httpx

    edition = tmp_path / "edicion.html"
    edition.write_bytes(httpx.get(web_server + "/edition.html").content)
    context = browser.new_context(java_script_enabled=False, **PHONE)
    page = context.new_page()
    page.goto(Path(edition).as_uri())
    text = page.locator("main").inner_text()
    assert "Primer día del paro" in text
    photo = page.locator("img").first
    assert page.evaluate("img => img.naturalWidth", photo.element_handle()) > 0
    context.close()
