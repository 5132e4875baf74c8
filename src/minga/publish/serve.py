"""The node serves the built site itself at ``/site/`` (ASGI, no web framework).

Folders answer with their ``index.html``, missing paths with ``404.html``;
pages are compressed on the fly (gzip) for browsers that accept it, media
files (named by their hash) are cached for a year. The content security
policy allows nothing from elsewhere, so a page can never pull a third-party
request into a reader's phone.
"""

from __future__ import annotations

import gzip
import mimetypes
from pathlib import Path
from typing import Any

from starlette.responses import FileResponse, RedirectResponse, Response

PREFIX = "/site/"
COMPRESSIBLE = (
    "text/",
    "application/json",
    "application/xml",
    "application/atom+xml",
    "application/rss+xml",
    "application/feed+json",
)
MAX_ON_THE_FLY = 2 << 20
CSP = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'self'; "
    "media-src 'self' blob: https:; connect-src 'self' https:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
TYPES = {
    ".atom": "application/atom+xml",
    ".rss": "application/rss+xml",
    ".xml": "application/xml",
    ".json": "application/json",
    ".js": "text/javascript",
    ".m4a": "audio/mp4",
    ".weba": "audio/webm",
}


def content_type(name: str) -> str:
    suffix = Path(name).suffix
    if name == "feed.json":
        return "application/feed+json"
    return TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


class SiteFiles:
    def __init__(self, root: Path, prefix: str = PREFIX) -> None:
        self.root = root
        self.prefix = prefix

    def find(self, path: str) -> Path | None:
        relative = path[len(self.prefix) :]
        if "\x00" in relative or "\\" in relative:
            return None
        root = self.root.resolve()
        candidate = (root / relative).resolve()
        if candidate != root and root not in candidate.parents:
            return None
        if candidate.is_dir():
            candidate = candidate / "index.html"
        return candidate if candidate.is_file() else None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        response: Response
        if scope.get("method") not in ("GET", "HEAD"):
            response = Response("method not allowed\n", status_code=405)
        elif path == self.prefix.rstrip("/"):
            response = RedirectResponse(self.prefix, status_code=301)
        elif (found := self.find(path)) is not None:
            if found.name == "index.html" and not path.endswith(("/", ".html")):
                response = RedirectResponse(path + "/", status_code=301)
            else:
                response = self._file(found, scope, 200)
        else:
            missing = self.root / "404.html"
            response = (
                self._file(missing, scope, 404)
                if missing.is_file()
                else Response("not found\n", status_code=404, media_type="text/plain")
            )
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        await response(scope, receive, send)

    def _file(self, found: Path, scope: dict[str, Any], status: int) -> Response:
        media_type = content_type(found.name)
        immutable = found.parent.name == "media"
        headers = {
            "Cache-Control": "public, max-age=31536000, immutable"
            if immutable
            else "public, max-age=60",
            "Vary": "Accept-Encoding",
        }
        accept = dict(scope.get("headers", [])).get(b"accept-encoding", b"")
        size = found.stat().st_size
        if b"gzip" in accept and media_type.startswith(COMPRESSIBLE) and size <= MAX_ON_THE_FLY:
            body = gzip.compress(found.read_bytes(), compresslevel=6, mtime=0)
            headers["Content-Encoding"] = "gzip"
            return Response(body, status_code=status, headers=headers, media_type=media_type)
        return FileResponse(found, status_code=status, headers=headers, media_type=media_type)
