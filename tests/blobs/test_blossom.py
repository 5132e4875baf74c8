"""The Blossom endpoints over real HTTP, with BUD-11 tokens."""

from __future__ import annotations

import hashlib
import time

import httpx
import pytest

from minga.blobs.auth import encode_header
from minga.blobs.models import Blob, BlobOwner
from minga.events import SecretKey, sign_event

MAX = 50_000


@pytest.fixture
def node_settings():
    return {"max_blob_bytes": MAX}


@pytest.fixture
def http(node):
    with httpx.Client(base_url=node.base_url, timeout=30) as client:
        yield client


def token(key, verb, *hashes, expires_in=300, server=None, created_at=None):
    tags = [["t", verb], ["expiration", str(int(time.time()) + expires_in)]]
    tags += [["x", h] for h in hashes]
    if server:
        tags.append(["server", server])
    return encode_header(sign_event(key, 24242, f"{verb} blob", tags, created_at))


def upload(http, key, data, mime="image/png", **kw):
    sha = hashlib.sha256(data).hexdigest()
    headers = {"Authorization": token(key, "upload", sha), "Content-Type": mime, "X-SHA-256": sha}
    headers.update(kw.pop("headers", {}))
    return http.put("/upload", content=data, headers=headers, **kw)


@pytest.fixture
def reporter(newsroom):
    return newsroom.member("reporter")


def test_upload_then_get_head_and_ranges(http, reporter, node):
    data = bytes(range(256)) * 40
    sha = hashlib.sha256(data).hexdigest()
    created = upload(http, reporter, data)
    assert created.status_code == 201
    descriptor = created.json()
    assert descriptor["sha256"] == sha
    assert descriptor["size"] == len(data)
    assert descriptor["type"] == "image/png"
    assert descriptor["url"] == f"{node.base_url}/{sha}.png"
    assert abs(descriptor["uploaded"] - time.time()) < 60
    assert upload(http, reporter, data).status_code == 200  # already here

    got = http.get(f"/{sha}.png")
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "image/png"
    assert got.headers["access-control-allow-origin"] == "*"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in got.headers["content-security-policy"]
    assert http.get(f"/{sha}.pdf").content == data  # any extension names the same blob

    head = http.head(f"/{sha}")
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(data))
    assert head.headers["accept-ranges"] == "bytes"
    assert head.content == b""

    part = http.get(f"/{sha}", headers={"Range": "bytes=1000-1099"})
    assert part.status_code == 206
    assert part.content == data[1000:1100]
    assert part.headers["content-range"] == f"bytes 1000-1099/{len(data)}"
    tail = http.get(f"/{sha}", headers={"Range": "bytes=-10"})
    assert tail.content == data[-10:]
    resume = http.get(f"/{sha}", headers={"Range": f"bytes={len(data) - 5}-"})
    assert resume.content == data[-5:]
    outside = http.get(f"/{sha}", headers={"Range": f"bytes={len(data)}-"})
    assert outside.status_code == 416


def test_missing_blob(http):
    response = http.get("/" + "ab" * 32)
    assert response.status_code == 404
    assert response.headers["x-reason"] == "no blob with this hash here"


@pytest.mark.parametrize(
    ("make_header", "reason"),
    [
        (lambda key, sha: None, "an Authorization: Nostr <token> header is required"),
        (lambda key, sha: "Bearer abc", "the Authorization scheme must be Nostr"),
        (lambda key, sha: "Nostr !!!", "the authorization token is not base64url JSON"),
        (
            lambda key, sha: token(key, "delete", sha),
            "the authorization event does not allow 'upload'",
        ),
        (
            lambda key, sha: token(key, "upload", sha, expires_in=-5),
            "the authorization event has expired",
        ),
        (
            lambda key, sha: token(key, "upload", "cd" * 32),
            "the authorization event does not name this blob (x tag)",
        ),
        (
            lambda key, sha: token(key, "upload", sha, server="otro.example"),
            "the authorization event is for another server",
        ),
        (
            lambda key, sha: token(key, "upload", sha, created_at=int(time.time()) + 300),
            "the authorization event is dated in the future",
        ),
    ],
)
def test_upload_authorization_is_checked(http, reporter, make_header, reason):
    data = b"contenido"
    sha = hashlib.sha256(data).hexdigest()
    headers = {"X-SHA-256": sha}
    header = make_header(reporter, sha)
    if header:
        headers["Authorization"] = header
    response = http.put("/upload", content=data, headers=headers)
    assert response.status_code == 401
    assert response.headers["x-reason"] == reason
    assert not Blob.objects.exists()


def test_forged_token_is_refused(http, reporter):
    header = token(reporter, "upload", "ab" * 32)
    import base64
    import json

    raw = json.loads(base64.urlsafe_b64decode(header.split()[1] + "=="))
    raw["content"] = "cambiado"
    forged = "Nostr " + base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")
    response = http.put("/upload", content=b"x", headers={"Authorization": forged})
    assert response.status_code == 401
    assert "not valid" in response.headers["x-reason"]


def test_only_members_store_blobs(http, newsroom):
    response = upload(http, SecretKey.generate(), b"spam")
    assert response.status_code == 403
    assert response.headers["x-reason"] == "only members of the outlet may store blobs here"


def test_hash_mismatch_stores_nothing(http, reporter, node):
    data = b"lo que llega"
    claimed = hashlib.sha256(b"otra cosa").hexdigest()
    response = http.put(
        "/upload",
        content=data,
        headers={"Authorization": token(reporter, "upload", claimed), "X-SHA-256": claimed},
    )
    assert response.status_code == 409
    assert not Blob.objects.exists()
    assert list((node.app.node.blobs.tmp).iterdir()) == []
    assert http.head(f"/{hashlib.sha256(data).hexdigest()}").status_code == 404


def test_too_large(http, reporter, node):
    big = b"x" * (MAX + 1)
    declared = upload(http, reporter, big)
    assert declared.status_code == 413
    # Without Content-Length (chunked), the limit holds while reading.
    sha = hashlib.sha256(big).hexdigest()

    def body():
        for i in range(0, len(big), 10_000):
            yield big[i : i + 10_000]

    chunked = http.put(
        "/upload",
        content=body(),
        headers={"Authorization": token(reporter, "upload", sha), "X-SHA-256": sha},
    )
    assert chunked.status_code == 413
    assert not Blob.objects.exists()
    assert list(node.app.node.blobs.tmp.iterdir()) == []


def test_upload_preflight(http, reporter):
    sha = "ab" * 32
    base = {"Authorization": token(reporter, "upload", sha), "X-SHA-256": sha}
    assert http.head("/upload", headers={**base, "X-Content-Length": "100"}).status_code == 200
    assert (
        http.head("/upload", headers={**base, "X-Content-Length": str(MAX + 1)}).status_code == 413
    )
    assert http.head("/upload", headers=base).status_code == 411
    assert (
        http.head("/upload", headers={"X-SHA-256": sha, "X-Content-Length": "1"}).status_code == 401
    )


def test_cors_preflight(http):
    response = http.options("/upload")
    assert response.status_code == 204
    assert "PUT" in response.headers["access-control-allow-methods"]
    assert "Authorization" in response.headers["access-control-allow-headers"]


def test_list_with_cursor(http, reporter, newsroom):
    hashes = []
    for n in range(5):
        data = f"blob {n}".encode()
        assert upload(http, reporter, data).status_code == 201
        hashes.append(hashlib.sha256(data).hexdigest())
        BlobOwner.objects.filter(blob_id=hashes[-1]).update(uploaded=1000 + n)
    auth = {"Authorization": token(reporter, "list")}
    first = http.get(f"/list/{reporter.pubkey}", params={"limit": 2}, headers=auth).json()
    assert [d["sha256"] for d in first] == [hashes[4], hashes[3]]
    second = http.get(
        f"/list/{reporter.pubkey}", params={"limit": 2, "cursor": first[-1]["sha256"]}, headers=auth
    ).json()
    assert [d["sha256"] for d in second] == [hashes[2], hashes[1]]
    other = newsroom.member("reporter")
    refused = http.get(f"/list/{reporter.pubkey}", headers={"Authorization": token(other, "list")})
    assert refused.status_code == 403
    editor = newsroom.member("editor")
    allowed = http.get(f"/list/{reporter.pubkey}", headers={"Authorization": token(editor, "list")})
    assert len(allowed.json()) == 5
    bad = http.get(f"/list/{reporter.pubkey}", params={"limit": "x"}, headers=auth)
    assert bad.status_code == 400


def test_delete_drops_only_the_owners_claim(http, newsroom, node):
    a, b = newsroom.member(), newsroom.member()
    data = b"compartido"
    sha = hashlib.sha256(data).hexdigest()
    upload(http, a, data)
    upload(http, b, data)
    no_x = http.delete(f"/{sha}", headers={"Authorization": token(a, "delete")})
    assert no_x.status_code == 401
    assert (
        http.delete(f"/{sha}", headers={"Authorization": token(a, "delete", sha)}).status_code
        == 204
    )
    assert http.get(f"/{sha}").status_code == 200  # b still has it
    again = http.delete(f"/{sha}", headers={"Authorization": token(a, "delete", sha)})
    assert again.status_code == 404
    assert (
        http.delete(f"/{sha}", headers={"Authorization": token(b, "delete", sha)}).status_code
        == 204
    )
    assert http.get(f"/{sha}").status_code == 404
    assert not node.app.node.blobs.path(sha).exists()


def test_unknown_types_become_octet_stream(http, reporter):
    response = upload(http, reporter, b"<script>alert(1)</script>", mime="text/html; <script>")
    assert response.json()["type"] == "text/html"
    served = http.get(f"/{response.json()['sha256']}")
    assert "sandbox" in served.headers["content-security-policy"]
    odd = upload(http, reporter, b"raro", mime="no es un tipo")
    assert odd.json()["type"] == "application/octet-stream"
    assert odd.json()["url"].endswith(".bin")
