"""Reading a built site as the targets send it: the files its manifest lists,
checked paths, the manifest file's bytes, and the HTTP headers each file needs.

Paths come from a signed manifest, yet a target writes them into folders and
buckets: every one is checked so that none can climb out (``..``), hide as a
folder name, or stand both as a file and as a folder.
"""

from __future__ import annotations

import mimetypes
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from minga.events.event import Event
from minga.exceptions import InvalidInput, PublishError, RetryLater
from minga.publish.manifest import MANIFEST_PATH, parse_manifest, paths_of

MANIFEST_RELATIVE = MANIFEST_PATH.lstrip("/")
# A file name carrying a content hash (Django's hashed static files: app.3f2a1b4c5d6e.css).
_HASHED_NAME = re.compile(r"\.[0-9a-f]{12,}\.[A-Za-z0-9]+$")
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=60"
# Fixed, so that every machine labels files alike (mimetypes reads /etc/mime.types).
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".atom": "application/atom+xml",
    ".rss": "application/rss+xml",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
    ".vtt": "text/vtt; charset=utf-8",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".gif": "image/gif",
    ".ico": "image/vnd.microsoft.icon",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".woff2": "font/woff2",
    ".pdf": "application/pdf",
    ".zim": "application/octet-stream",
}


@dataclass(frozen=True)
class SiteFile:
    path: str  # as in the manifest: /d/0/index.html
    sha256: str
    source: Path  # the file in the built site
    size: int

    @property
    def relative(self) -> str:
        return self.path[1:]


def relative(path: str) -> str:
    """``/d/0/index.html`` → ``d/0/index.html``, refusing anything that could
    point outside the site or mean something else on a file system."""
    parts = path.split("/")
    if (
        not path.startswith("/")
        or len(path) > 1024
        or any(c in path for c in "\\\0\r\n")
        or any(p in ("", ".", "..") for p in parts[1:])
    ):
        raise PublishError(f"the manifest lists an unusable path: {path!r}")
    return path[1:]


def site_files(site: Path, manifest: Event) -> list[SiteFile]:
    """The files ``manifest`` lists, found in ``site`` (sorted by path)."""
    paths = paths_of(manifest)
    folders = {p.rsplit("/", i)[0] for p in paths for i in range(1, p.count("/"))}
    clash = sorted(folders & paths.keys())
    if clash:
        raise PublishError(f"the manifest lists {clash[0]} both as a file and as a folder")
    if MANIFEST_PATH in paths:
        raise PublishError(f"the manifest lists {MANIFEST_PATH}, its own place")
    files = []
    for path in sorted(paths):
        source = site / relative(path)
        try:
            info = source.lstat()
        except FileNotFoundError:
            raise RetryLater(
                f"{path} is in the manifest but not in the site folder {site}"
                " (is it being rebuilt?)"
            ) from None
        if not stat.S_ISREG(info.st_mode):
            raise PublishError(f"{source} is not a regular file")
        files.append(SiteFile(path, paths[path], source, info.st_size))
    return files


def manifest_bytes(site: Path, manifest: Event) -> bytes:
    """The manifest file to publish at MANIFEST_PATH: the site's own copy when
    it is this manifest, else the manifest's JSON. A copy of another manifest
    means the site was rebuilt meanwhile: deploying now would mix versions."""
    path = site / MANIFEST_RELATIVE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return manifest.to_json().encode("utf-8")
    try:
        there = parse_manifest(data)
    except InvalidInput as exc:
        raise PublishError(f"{path} is not a valid manifest: {exc.message}") from exc
    if there.id != manifest.id:
        raise RetryLater(f"the site folder {site} holds another version (rebuilt meanwhile)")
    return data


def content_type(path: str) -> str:
    name = path.rsplit("/", 1)[-1].lower()
    suffix = name[name.rfind(".") :] if "." in name else ""
    known = _TYPES.get(suffix)
    if known:
        return known
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def cache_control(path: str) -> str:
    """Media files are named by their hash and never change: cache them for good.
    Pages, feeds and the manifest change with every dispatch: a minute."""
    if path.startswith("/media/") or _HASHED_NAME.search(path):
        return IMMUTABLE
    return SHORT
