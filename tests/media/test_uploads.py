"""Resumable uploads (tus 1.0) into the media pipeline, against a running node."""

from __future__ import annotations

import base64
import hashlib
import socket
import time

import httpx
import pytest

from minga.blobs.models import Blob, Upload
from minga.media.models import Media
from minga.newsroom import people
from minga.store.query import get
from tests.fixtures import session_cookies
from tests.samples import photo_with_metadata, revealing

PASSWORD = "una clave larga de prueba"


@pytest.fixture
def reporter(newsroom):
    return people.create_person("rosa", PASSWORD, "Rosa", "reporter")


@pytest.fixture
def http(node, reporter):
    cookies = session_cookies(reporter.user)
    with httpx.Client(
        base_url=node.base_url,
        cookies=cookies,
        headers={"Tus-Resumable": "1.0.0", "X-CSRFToken": cookies["csrftoken"]},
        timeout=60,
    ) as client:
        yield client


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(http, size: int, **meta: str) -> str:
    response = http.post(
        "/tus/", headers={"Upload-Length": str(size), "Upload-Metadata": metadata(**meta)}
    )
    assert response.status_code == 201, response.text
    return response.headers["location"].rsplit("/", 1)[1]


def offset(http, upload_id: str) -> int:
    response = http.head(f"/tus/{upload_id}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    return int(response.headers["upload-offset"])


def patch(http, upload_id: str, at: int, data: bytes) -> httpx.Response:
    return http.patch(
        f"/tus/{upload_id}",
        content=data,
        headers={"Upload-Offset": str(at), "Content-Type": "application/offset+octet-stream"},
    )


def wait_ready(media_id: str, timeout: float = 60) -> Media:
    deadline = time.monotonic() + timeout
    while True:
        media = Media.objects.filter(pk=media_id).first()
        if media is not None and media.status in ("ready", "failed"):
            return media
        assert time.monotonic() < deadline, "media processing did not finish"
        time.sleep(0.1)


def test_options_announce_tus(node):
    response = httpx.options(f"{node.base_url}/tus/")
    assert response.status_code == 204
    assert response.headers["tus-version"] == "1.0.0"
    assert "creation" in response.headers["tus-extension"]


def test_upload_in_pieces_then_processed_and_published_safely(http, node, tmp_path, reporter):
    photo = photo_with_metadata(tmp_path).read_bytes()
    upload_id = create(
        http, len(photo), filename="IMG_0042.jpg", blur="1", alt="Marcha en la plaza"
    )
    assert offset(http, upload_id) == 0
    first = patch(http, upload_id, 0, photo[:20_000])
    assert first.status_code == 204
    assert first.headers["upload-offset"] == "20000"
    wrong = patch(http, upload_id, 0, photo[:10])
    assert wrong.status_code == 409
    assert offset(http, upload_id) == 20_000
    assert patch(http, upload_id, 20_000, photo[20_000:]).status_code == 204
    media = wait_ready(upload_id)
    assert media.status == "ready", media.error
    result = media.result
    assert result["faces"] == 1
    main = result["main"]
    clean = httpx.get(main["url"])
    assert clean.status_code == 200
    cleaned = tmp_path / "publicada.jpg"
    cleaned.write_bytes(clean.content)
    assert revealing(cleaned) == {}
    original = result["original"]
    assert original == hashlib.sha256(photo).hexdigest()
    assert Blob.objects.get(sha256=original).private
    assert httpx.get(f"{node.base_url}/{original}").status_code == 401  # not for the public
    assert http.get(f"/{original}").content == photo  # members may see it
    record = get(result["event"])
    assert record.kind == 1063
    assert ["ox", original] in record.tags
    assert ["x", main["sha256"]] in record.tags
    assert ["alt", "Marcha en la plaza"] in record.tags
    assert any(t[0] == "variant" for t in record.tags)
    assert result["imeta"][0] == "imeta"


def test_dropped_connection_resumes_where_it_stopped(http, node, tmp_path, reporter):
    photo = photo_with_metadata(tmp_path).read_bytes()
    upload_id = create(http, len(photo), filename="a.jpg")
    # Send the headers and half the body, then hang up, as a phone losing signal.
    host, port = node.base_url.split("//")[1].split(":")
    sent = len(photo) // 2
    with socket.create_connection((host, int(port))) as raw:
        cookies = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        raw.sendall(
            (
                f"PATCH /tus/{upload_id} HTTP/1.1\r\nHost: {host}:{port}\r\nTus-Resumable: 1.0.0\r\n"
                f"Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                f"Content-Length: {len(photo)}\r\nCookie: {cookies}\r\nX-CSRFToken: {http.headers['x-csrftoken']}\r\n\r\n"
            ).encode()
            + photo[:sent]
        )
        time.sleep(0.5)
    deadline = time.monotonic() + 10
    while offset(http, upload_id) < sent and time.monotonic() < deadline:
        time.sleep(0.1)
    resumed_at = offset(http, upload_id)
    assert resumed_at == sent  # nothing received was thrown away
    assert patch(http, upload_id, resumed_at, photo[resumed_at:]).status_code == 204
    assert wait_ready(upload_id).status == "ready"


def test_uploads_need_a_member_and_the_csrf_token(node, reporter):
    anonymous = httpx.post(
        f"{node.base_url}/tus/", headers={"Tus-Resumable": "1.0.0", "Upload-Length": "10"}
    )
    assert anonymous.status_code == 401
    cookies = session_cookies(reporter.user)
    no_token = httpx.post(
        f"{node.base_url}/tus/",
        headers={"Tus-Resumable": "1.0.0", "Upload-Length": "10"},
        cookies=cookies,
    )
    assert no_token.status_code == 403
    old = httpx.post(
        f"{node.base_url}/tus/",
        headers={
            "Tus-Resumable": "0.2.2",
            "Upload-Length": "10",
            "X-CSRFToken": cookies["csrftoken"],
        },
        cookies=cookies,
    )
    assert old.status_code == 412


def test_limits_and_bad_requests(http, node, settings):
    too_big = http.post("/tus/", headers={"Upload-Length": str(settings.MINGA.max_blob_bytes + 1)})
    assert too_big.status_code == 413
    assert http.post("/tus/", headers={"Upload-Length": "x"}).status_code == 400
    assert (
        http.post(
            "/tus/", headers={"Upload-Length": "5", "Upload-Metadata": "bad!key dmFs"}
        ).status_code
        == 400
    )
    upload_id = create(http, 5)
    overflow = patch(http, upload_id, 0, b"123456")
    assert overflow.status_code == 413
    wrong_type = http.patch(
        f"/tus/{upload_id}",
        content=b"1",
        headers={"Upload-Offset": "0", "Content-Type": "text/plain"},
    )
    assert wrong_type.status_code == 415
    assert http.head("/tus/" + "0" * 32).status_code == 404
    assert http.delete(f"/tus/{upload_id}").status_code == 204
    assert not Upload.objects.filter(pk=upload_id).exists()


def test_someone_elses_upload_is_not_found(http, node):
    upload_id = create(http, 10)
    other = people.create_person("teo", PASSWORD, "Teo", "reporter")
    cookies = session_cookies(other.user)
    response = httpx.head(
        f"{node.base_url}/tus/{upload_id}", headers={"Tus-Resumable": "1.0.0"}, cookies=cookies
    )
    assert response.status_code == 404


def test_a_fake_photo_fails_cleanly(http, node):
    data = b"<html><script>alert(1)</script></html>"
    upload_id = create(http, len(data), filename="foto.jpg")
    assert patch(http, upload_id, 0, data).status_code == 204
    media = wait_ready(upload_id)
    assert media.status == "failed"
    assert "not a photo, video or audio" in media.error
    assert not Blob.objects.exists()


def test_expired_uploads_are_gone(http, node):
    upload_id = create(http, 10)
    from django.utils import timezone

    Upload.objects.filter(pk=upload_id).update(expires=timezone.now())
    assert http.head(f"/tus/{upload_id}").status_code == 410
