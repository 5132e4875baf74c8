"""Blossom HTTP endpoints (BUD-01 get/head, BUD-02 upload, BUD-06 preflight,
BUD-11 authorization, BUD-12 list and delete)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from minga.blobs import service
from minga.blobs.auth import authorize
from minga.blobs.storage import SHA256
from minga.exceptions import Forbidden, InvalidBlob, MingaError, NotFound, TooLarge, Unauthorized

if TYPE_CHECKING:
    from minga.node.runtime import Node

BLOB_PATH = re.compile(r"/(?P<sha>[0-9a-f]{64})(?P<ext>\.[A-Za-z0-9]{1,10})?")
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization, *",
    "Access-Control-Allow-Methods": "GET, HEAD, PUT, DELETE",
    "Access-Control-Max-Age": "86400",
}
# Blobs are other people's bytes: never let one run as a page of this origin.
SAFE = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",
}
Handler = Callable[[Request], Awaitable[Response]]


def error(exc: MingaError) -> Response:
    reason = exc.message.replace("\n", " ")[:300]
    header = reason.encode("ascii", "replace").decode()  # HTTP header values are Latin-1
    return Response(
        reason + "\n",
        status_code=exc.status,
        headers={**CORS, "X-Reason": header},
        media_type="text/plain",
    )


def guarded(handler: Handler) -> Handler:
    async def wrapper(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=CORS)
        try:
            return await handler(request)
        except MingaError as exc:
            return error(exc)

    return wrapper


def handlers(node: Node) -> dict[str, Handler]:
    config = node.config
    server = urlparse(config.base_url).hostname or "localhost"

    def auth(request: Request, verb: str, blob: str | None, require_x: bool) -> str:
        pubkey = authorize(
            request.headers.get("authorization"),
            verb,
            server=server,
            blob=blob,
            require_x=require_x,
            slack=config.auth_window_seconds,
        )
        return pubkey

    async def may_read_private(request: Request, sha: str) -> None:
        """Originals: members only, by BUD-11 ``get`` token or signed-in session."""
        if request.headers.get("authorization"):
            pubkey = auth(request, "get", sha, require_x=False)
            if node.policy.role(pubkey) is None:
                raise Forbidden("this blob is kept for members of the outlet")
            return
        from minga.web.session import person_for_cookies

        person = await node.call(person_for_cookies, dict(request.cookies))
        if person is None:
            raise Unauthorized("this blob is kept for members of the outlet: sign in")

    def may_store(pubkey: str) -> None:
        if not config.open_writes and node.policy.role(pubkey) is None:
            raise Forbidden("only members of the outlet may store blobs here")

    async def blob(request: Request) -> Response:
        match = BLOB_PATH.fullmatch(request.url.path)
        if match is None:
            raise InvalidBlob("a blob path is /<sha256>[.ext]")
        sha = match["sha"]
        if request.method == "DELETE":
            pubkey = auth(request, "delete", sha, require_x=True)
            await node.call(service.delete, sha, pubkey, node.blobs)
            return Response(status_code=204, headers=CORS)
        descriptor = await node.call(service.find, sha)
        path = node.blobs.path(sha)
        if descriptor is None or not path.is_file():
            raise NotFound("no blob with this hash here")
        if descriptor.private:
            await may_read_private(request, sha)
        headers = {**CORS, **SAFE, "Cache-Control": "public, max-age=31536000, immutable"}
        if request.method == "HEAD":
            headers.update(
                {
                    "Content-Length": str(descriptor.size),
                    "Accept-Ranges": "bytes",
                    "Content-Type": descriptor.type,
                }
            )
            return Response(status_code=200, headers=headers)
        return FileResponse(path, headers=headers, media_type=descriptor.type)

    async def upload(request: Request) -> Response:
        expected = request.headers.get("x-sha-256")
        if expected is not None and not SHA256.fullmatch(expected):
            raise InvalidBlob("X-SHA-256 must be 64 lowercase hex characters")
        if request.method == "HEAD":  # BUD-06 preflight
            pubkey = auth(request, "upload", expected, require_x=True)
            may_store(pubkey)
            length = request.headers.get("x-content-length")
            if length is None:
                return error(_LengthRequired("X-Content-Length is required"))
            if not length.isdigit():
                raise InvalidBlob("X-Content-Length must be a number of bytes")
            if int(length) > config.max_blob_bytes:
                raise TooLarge(f"blobs here are at most {config.max_blob_bytes} bytes")
            return Response(status_code=200, headers=CORS)
        pubkey = auth(request, "upload", expected, require_x=expected is not None)
        may_store(pubkey)
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise InvalidBlob("Content-Length must be a number of bytes")
            if int(declared) > config.max_blob_bytes:
                raise TooLarge(f"blobs here are at most {config.max_blob_bytes} bytes")
        writer = await run_in_threadpool(node.blobs.writer, config.max_blob_bytes, expected)
        try:
            async for chunk in request.stream():
                if chunk:
                    writer.write(chunk)
            sha, _ = await run_in_threadpool(writer.commit)
        except BaseException:
            writer.abort()
            raise
        if expected is None:
            # Without X-SHA-256 the token's x tags can only be checked now. A refused
            # upload leaves unrecorded bytes (from a member); never delete here, another
            # upload of the same bytes may be recording them at this moment.
            auth(request, "upload", sha, require_x=False)
        mime = service.clean_type(request.headers.get("content-type"))
        existed = await node.call(service.find, sha)
        descriptor = await node.call(service.record, sha, writer.size, mime, pubkey)
        return JSONResponse(
            descriptor.as_json(config.base_url),
            status_code=200 if existed else 201,
            headers=CORS,
        )

    async def listing(request: Request) -> Response:
        pubkey = request.path_params["pubkey"]
        if not SHA256.fullmatch(pubkey):
            raise InvalidBlob("/list/<pubkey> takes a 64-character hex public key")
        who = auth(request, "list", None, require_x=False)
        if who != pubkey and node.policy.role(who) not in ("outlet", "admin", "editor"):
            raise Forbidden("a key lists its own blobs (or an editor lists anyone's)")
        cursor = request.query_params.get("cursor")
        if cursor is not None and not SHA256.fullmatch(cursor):
            raise InvalidBlob("cursor is the sha256 of the last blob of the previous page")
        limit_text = request.query_params.get("limit", "100")
        if not limit_text.isdigit():
            raise InvalidBlob("limit must be a number")
        limit = max(1, min(int(limit_text), 1000))
        items = await node.call(service.listing, pubkey, cursor, limit)
        return JSONResponse([d.as_json(config.base_url) for d in items], headers=CORS)

    return {
        "blob": guarded(blob),
        "upload": guarded(upload),
        "list": guarded(listing),
    }


class _LengthRequired(MingaError):
    status = 411
    prefix = "invalid"
