"""The newsroom as people use it: a reporter on a phone, a desk on a laptop.

A reporter files a dispatch with a photo, loses the network, files another with
a video (and even closes the tab), gets the network back, and both arrive
whole; the desk sees them appear without reloading, publishes one (its number
shows) and retracts it (its note shows). Published copies carry no metadata
(exiftool) and the main pages pass axe-core with no serious violations.
"""

from __future__ import annotations

import httpx
import pytest

from minga.events import Filter
from minga.media.models import Media
from minga.newsroom import people
from minga.newsroom.models import Story
from minga.store.query import query
from tests.browser.conftest import axe_violations, sign_in
from tests.samples import photo_with_metadata, revealing, video_with_metadata

PASSWORD = "una clave larga de prueba"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "locale": "es-PE",
}


@pytest.fixture
def team(newsroom):
    return {
        "editor": people.create_person("lucia", PASSWORD, "Lucía", "editor"),
        "reporter": people.create_person("rosa", PASSWORD, "Rosa", "reporter"),
    }


def outbox_empty(page, timeout: float = 90) -> None:
    """Wait until what was just filed has gone out (it shows as sent)."""
    page.wait_for_selector("#outbox li[data-state=sent]", timeout=timeout * 1000)
    page.wait_for_function(
        "() => !document.querySelector('#outbox li:not([data-state=sent])')", timeout=timeout * 1000
    )


def file_dispatch(page, title: str, body: str, path) -> None:
    page.check("input[name=kind][value=dispatch]")
    page.fill("#title", title)
    page.fill("#body", body)
    page.set_input_files("#files", str(path))
    page.click("#send")


@pytest.mark.slow
def test_file_offline_then_desk_publishes_and_retracts(browser, node, team, tmp_path):
    base = node.base_url
    photo = photo_with_metadata(tmp_path)
    clip = video_with_metadata(tmp_path, seconds=2)

    desk_context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    desk = desk_context.new_page()
    sign_in(desk, base, "lucia", PASSWORD)
    desk.wait_for_url(f"{base}/desk/")

    phone = browser.new_context(**PHONE)
    app = phone.new_page()
    sign_in(app, base, "rosa", PASSWORD)
    app.wait_for_url(f"{base}/r/")
    app.wait_for_function(
        "navigator.serviceWorker && navigator.serviceWorker.controller !== undefined"
    )

    # 1. Online: a dispatch with a photo.
    file_dispatch(app, "Despacho con foto", "La marcha llega a la plaza.", photo)
    outbox_empty(app)

    # 2. Offline: a dispatch with a video waits in the outbox…
    app.wait_for_function("navigator.serviceWorker.controller !== null", timeout=20000)
    phone.set_offline(True)
    file_dispatch(app, "Despacho con video", "Video de la plaza.", clip)
    app.wait_for_selector("#outbox li[data-state=queued]")
    assert "Sin conexión" in app.inner_text("#net")
    # …and survives the tab closing: a new tab, still offline, shows it.
    app.close()
    app = phone.new_page()
    app.goto(f"{base}/r/")
    app.wait_for_selector("#outbox li[data-state=queued]")
    assert "Despacho con video" in app.inner_text("#outbox")

    # 3. Back online: it goes out by itself.
    phone.set_offline(False)
    app.evaluate("window.dispatchEvent(new Event('online'))")
    outbox_empty(app)

    # 4. The desk saw both arrive without reloading.
    desk.wait_for_selector("text=Despacho con foto", timeout=20000)
    desk.wait_for_selector("text=Despacho con video", timeout=20000)

    # Both arrived whole: signed dispatches with their media, clean copies public.
    rows = query([Filter(kinds=frozenset([30023]))], private=True)
    dispatches = {r.event().first_tag_value("title"): r.event() for r in rows}
    assert set(dispatches) == {"Despacho con foto", "Despacho con video"}
    for event in dispatches.values():
        imeta = [t for t in event.tags if t[0] == "imeta"]
        assert len(imeta) == 1
        url = next(p[4:] for p in imeta[0][1:] if p.startswith("url "))
        copy = tmp_path / url.rsplit("/", 1)[1]
        copy.write_bytes(httpx.get(url).content)
        assert revealing(copy) == {}
    assert Media.objects.filter(status="ready").count() == 2

    # 5. The desk publishes the photo dispatch: its number shows.
    desk.click("text=Despacho con foto")
    desk.click("button:has-text('Approve')")
    desk.click("button:has-text('Publish')")
    desk.wait_for_selector(".badge:has-text('#0')")
    assert axe_violations(desk) == []

    # 6. …and retracts it with a public note.
    desk.fill("#retract-note", "La foto era de otra marcha.")
    desk.click("button:has-text('Retract')")
    desk.wait_for_selector("text=La foto era de otra marcha.")
    assert "Retracted" in desk.inner_text(".badge")
    story = Story.objects.get(key=dispatches["Despacho con foto"].address)
    assert (story.state, story.number) == ("retracted", 0)

    # The reporter sees the desk's verdict on their items.
    app.evaluate("document.getElementById('my-items') && fetch('/r/items')")
    desk_context.close()
    phone.close()


def test_quick_exit_leaves_nothing_behind(browser, node, team):
    base = node.base_url
    phone = browser.new_context(**PHONE)
    app = phone.new_page()
    sign_in(app, base, "rosa", PASSWORD)
    app.wait_for_url(f"{base}/r/")
    phone.set_offline(True)
    app.fill("#body", "nota que no debe quedar")
    app.click("#send")
    app.wait_for_selector("#outbox li[data-state=queued]")
    phone.set_offline(False)
    app.route("**/r/file", lambda route: route.abort())  # keep it queued
    app.click("#quick-exit")
    app.wait_for_url(f"{base}/r/exit")
    assert "quinua" in app.inner_text("body")
    databases = app.evaluate("indexedDB.databases().then(list => list.map(d => d.name))")
    assert "minga-outbox" not in databases
    assert app.evaluate("caches.keys()") == []
    # Signed out too: the app asks for the password again.
    app.goto(f"{base}/r/")
    assert "/login/" in app.url
    phone.close()


@pytest.mark.parametrize("path", ["/login/", "/r/", "/desk/", "/people/", "/"])
def test_main_pages_have_no_serious_accessibility_violations(browser, node, team, path):
    context = browser.new_context(locale="es-PE")
    page = context.new_page()
    if path != "/login/" and path != "/":
        admin = people.create_person("admin", PASSWORD, "Admin", "admin")
        sign_in(page, node.base_url, admin.user.username, PASSWORD)
        page.wait_for_load_state()
    page.goto(node.base_url + path)
    page.wait_for_load_state()
    violations = axe_violations(page)
    assert violations == [], [
        (v["id"], v["help"], [n["html"] for n in v["nodes"]][:3]) for v in violations
    ]
    context.close()


def test_an_upload_cut_five_times_resumes_without_sending_twice(browser, node, team, tmp_path):
    """tus over a link that drops five times mid-upload: the file arrives whole,
    and no more than one 1 MB chunk per cut is sent again."""
    from PIL import Image

    from tests.proxy import cutting_proxy
    from tests.samples import noise

    big = tmp_path / "grande.jpg"
    noise(2600, 2000).save(big, quality=97)
    size = big.stat().st_size
    assert size > 5_000_000
    port = int(node.base_url.rsplit(":", 1)[1])
    cuts = [size * n // 7 + 300_000 for n in range(1, 6)]
    chunk = 1024 * 1024
    with cutting_proxy(port, cuts) as proxy:
        base = f"http://127.0.0.1:{proxy.port}"
        phone = browser.new_context(**PHONE)
        app = phone.new_page()
        sign_in(app, base, "rosa", PASSWORD)
        app.wait_for_url(f"{base}/r/")
        bodies_before = proxy.body_bytes
        app.uncheck("#blur")
        app.fill("#body", "foto pesada")
        app.set_input_files("#files", str(big))
        app.click("#send")
        outbox_empty(app, timeout=180)
        bodies = proxy.body_bytes - bodies_before
        assert len(proxy.done_cuts) == 5
        phone.close()
    media = Media.objects.get()
    assert media.status == "ready"
    assert media.result["original"] == __import__("hashlib").sha256(big.read_bytes()).hexdigest()
    # Every request body the page sent: the file, at most a chunk again per cut,
    # and the item's small JSON body.
    assert size <= bodies < size + 5 * chunk + 20_000, (bodies, size)
    with Image.open(big) as original:
        assert original.size == (2600, 2000)
