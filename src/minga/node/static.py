"""Static files (CSS, scripts, icons), served ASGI-natively from STATIC_ROOT.

`minga serve` collects them with hashed names and gzip copies beside them
(CompressedManifestStaticFilesStorage); hashed names are cached by browsers
for a year, the gzip copy is sent to every browser that accepts it.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import Any

from starlette.responses import FileResponse, PlainTextResponse

HASHED = re.compile(r"\.[0-9a-f]{12}\.\w+$")


class StaticFiles:
    def __init__(self, root: Path, prefix: str = "/static/") -> None:
        self.root = root.resolve()
        self.prefix = prefix

    def find(self, path: str) -> Path | None:
        relative = path[len(self.prefix) :]
        if not relative or "\x00" in relative:
            return None
        candidate = (self.root / relative).resolve()
        if self.root not in candidate.parents or not candidate.is_file():
            return None
        return candidate

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        found = self.find(scope.get("path", ""))
        if found is None or scope.get("method") not in ("GET", "HEAD"):
            response: Any = PlainTextResponse("not found\n", status_code=404)
            await response(scope, receive, send)
            return
        media_type = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        headers = {
            "Cache-Control": "public, max-age=31536000, immutable"
            if HASHED.search(found.name)
            else "public, max-age=3600",
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
        }
        accept = dict(scope.get("headers", [])).get(b"accept-encoding", b"")
        zipped = found.with_name(found.name + ".gz")
        if b"gzip" in accept and zipped.is_file():
            headers["Content-Encoding"] = "gzip"
            response = FileResponse(zipped, headers=headers, media_type=media_type)
        else:
            response = FileResponse(found, headers=headers, media_type=media_type)
        await response(scope, receive, send)
