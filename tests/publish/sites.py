"""Small built sites for the deploy tests: a folder of files and its signed
NIP-5A manifest, written into the site at MANIFEST_PATH as the builder does."""

from __future__ import annotations

import hashlib
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from minga.events.event import Event
from minga.events.signing import SecretKey
from minga.publish.manifest import MANIFEST_PATH, aggregate, sign_manifest

BASE_TIME = 1_790_000_000


def photo_bytes(seed: int = 0) -> bytes:
    image = Image.new("RGB", (48, 32), (40 + seed, 90, 160))
    for x in range(0, 48, 4):
        image.putpixel((x, seed % 32), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def page(title: str, body: str) -> bytes:
    return (
        "<!doctype html>\n<html lang=es><meta charset=utf-8>"
        f"<title>{title}</title><link rel=stylesheet href=/static/site.0123456789ab.css>"
        f"<h1>{title}</h1>\n{body}\n</html>\n"
    ).encode()


def files_v1() -> dict[str, bytes]:
    """A little site: front page, one dispatch, feeds, a photo, a hashed stylesheet."""
    photo = photo_bytes()
    media = f"/media/{hashlib.sha256(photo).hexdigest()}.jpg"
    return {
        "/index.html": page("Prueba", f'<a href=/d/0/>Primer día del paro</a><img src="{media}">'),
        "/d/0/index.html": page("Primer día del paro", "<p>Desde las cinco no circula…</p>"),
        "/feed.atom": (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom"><title>Prueba</title>'
            "<entry><title>Primer día del paro</title></entry></feed>\n"
        ).encode(),
        "/feed.json": b'{"version":"https://jsonfeed.org/version/1.1","title":"Prueba","items":[]}\n',
        media: photo,
        "/static/site.0123456789ab.css": b"body{font:16px/1.5 serif;max-width:40em;margin:auto}\n",
    }


def files_v2() -> dict[str, bytes]:
    """The next version: a new dispatch (+1 page, +1 photo), the front page and
    feed changed, the JSON feed gone."""
    files = files_v1()
    del files["/feed.json"]
    photo = photo_bytes(7)
    media = f"/media/{hashlib.sha256(photo).hexdigest()}.jpg"
    files[media] = photo
    files["/d/1/index.html"] = page("Segundo día", "<p>Sigue el paro.</p>")
    files["/index.html"] = page("Prueba", "<a href=/d/1/>Segundo día</a> <a href=/d/0/>Primer</a>")
    files["/feed.atom"] = files["/feed.atom"].replace(b"<entry>", b"<entry><title>2</title>")
    return files


@dataclass
class Site:
    root: Path
    manifest: Event
    files: dict[str, bytes]

    @property
    def aggregate(self) -> str:
        return aggregate({p: hashlib.sha256(b).hexdigest() for p, b in self.files.items()})

    @property
    def manifest_file(self) -> bytes:
        return (self.root / MANIFEST_PATH.lstrip("/")).read_bytes()


def build(
    root: Path,
    key: SecretKey,
    files: dict[str, bytes] | None = None,
    created_at: int = BASE_TIME,
    servers: tuple[str, ...] = (),
) -> Site:
    """(Re)build the site in ``root``: exactly ``files`` and the signed manifest."""
    files = files_v1() if files is None else files
    if root.exists():
        shutil.rmtree(root)
    for path, data in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    paths = {p: hashlib.sha256(b).hexdigest() for p, b in files.items()}
    manifest = sign_manifest(key, paths, created_at, title="Prueba", servers=servers)
    proof = root / MANIFEST_PATH.lstrip("/")
    proof.parent.mkdir(parents=True, exist_ok=True)
    proof.write_text(manifest.to_json(), encoding="utf-8")
    return Site(root, manifest, dict(files))


def tree(root: Path, skip: tuple[str, ...] = (".git",)) -> dict[str, bytes]:
    """Every file under ``root`` as path → bytes (paths like the manifest's)."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not any(rel == s or rel.startswith(s + "/") for s in skip):
            found["/" + rel] = path.read_bytes()
    return found
