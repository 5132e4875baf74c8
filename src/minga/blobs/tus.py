"""Resumable uploads, tus 1.0 (core, creation, termination, expiration).

A reporter's phone drops its connection; the upload resumes at the last byte
the node has, never from the start. Bytes go straight to
``<data_dir>/uploads/<id>``; the offset is that file's size, so what was
received before a dropped connection (or a node restart) is kept.

Authentication is the Django session of a member (the PWA), with the CSRF
token in ``X-CSRFToken`` for every request that changes something.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from minga.blobs.models import Upload
from minga.exceptions import (
    Conflict,
    Forbidden,
    InvalidBlob,
    MingaError,
    NotFound,
    TooLarge,
    Unauthorized,
)

if TYPE_CHECKING:
    from minga.node.runtime import Node

VERSION = "1.0.0"
EXTENSIONS = "creation,termination,expiration"
EXPIRES = timedelta(hours=48)
_ID = re.compile(r"[0-9a-f]{32}")
_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_METADATA = 4096

Handler = Callable[[Request], Awaitable[Response]]
OnFinished = Callable[[Upload, Path], Any]


class _Gone(MingaError):
    status = 410


class _Precondition(MingaError):
    status = 412


class _WrongType(MingaError):
    status = 415


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs."""
    if not header:
        return {}
    if len(header) > MAX_METADATA:
        raise InvalidBlob("Upload-Metadata is too long")
    out: dict[str, str] = {}
    for item in header.split(","):
        parts = item.strip().split(" ")
        if not parts[0] or len(parts) > 2 or not _KEY.fullmatch(parts[0]):
            raise InvalidBlob("Upload-Metadata is malformed")
        try:
            value = (
                base64.b64decode(parts[1], validate=True).decode("utf-8") if len(parts) == 2 else ""
            )
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidBlob("Upload-Metadata values must be base64 of UTF-8 text") from exc
        out[parts[0]] = value
    return out


def handlers(node: Node, on_finished: OnFinished) -> dict[str, Handler]:
    config = node.config
    folder = config.data_path / "uploads"
    folder.mkdir(parents=True, exist_ok=True)

    def headers(**extra: str) -> dict[str, str]:
        return {"Tus-Resumable": VERSION, "Cache-Control": "no-store", **extra}

    def error(exc: MingaError) -> Response:
        reason = exc.message.replace("\n", " ")[:300]
        return Response(
            reason + "\n",
            status_code=exc.status,
            headers=headers(**{"X-Reason": reason.encode("ascii", "replace").decode()}),
            media_type="text/plain",
        )

    async def member(request: Request, changes: bool) -> Any:
        from minga.web.session import person_for_cookies

        person = await node.call(person_for_cookies, dict(request.cookies))
        if person is None:
            raise Unauthorized("sign in to upload")
        if changes:
            token = request.cookies.get("csrftoken", "")
            sent = request.headers.get("x-csrftoken", "")
            if not token or not secrets.compare_digest(token, sent):
                raise Forbidden("missing or wrong X-CSRFToken")
        return person

    def path_of(upload_id: str) -> Path:
        return folder / upload_id

    async def find(request: Request, person: Any) -> Upload:
        upload_id = request.path_params["upload_id"]
        if not _ID.fullmatch(upload_id):
            raise NotFound("no such upload")
        upload = await node.call(lambda: Upload.objects.filter(pk=upload_id).first())
        if upload is None or upload.owner != person.pubkey:
            raise NotFound("no such upload")
        if upload.expires < timezone.now() and upload.finished is None:
            raise _Gone("this upload expired: start it again")
        return upload

    def guarded(handler: Handler) -> Handler:
        async def wrapper(request: Request) -> Response:
            if request.method == "OPTIONS":
                return Response(
                    status_code=204,
                    headers=headers(
                        **{
                            "Tus-Version": VERSION,
                            "Tus-Extension": EXTENSIONS,
                            "Tus-Max-Size": str(config.max_blob_bytes),
                        }
                    ),
                )
            try:
                if request.headers.get("tus-resumable") != VERSION:
                    raise _Precondition("this server speaks tus 1.0.0 (Tus-Resumable: 1.0.0)")
                return await handler(request)
            except MingaError as exc:
                return error(exc)

        return wrapper

    async def create(request: Request) -> Response:
        person = await member(request, changes=True)
        length_text = request.headers.get("upload-length")
        if length_text is None or not length_text.isdigit():
            raise InvalidBlob("Upload-Length is required (deferred lengths are not supported)")
        length = int(length_text)
        if length > config.max_blob_bytes:
            raise TooLarge(f"uploads here are at most {config.max_blob_bytes} bytes")
        metadata = parse_metadata(request.headers.get("upload-metadata"))
        upload_id = secrets.token_hex(16)
        path_of(upload_id).touch(mode=0o600)
        expires = timezone.now() + EXPIRES
        await node.call(
            lambda: Upload.objects.create(
                id=upload_id, owner=person.pubkey, length=length, metadata=metadata, expires=expires
            )
        )
        return Response(
            status_code=201,
            headers=headers(
                # Relative: right behind any proxy or address the client came through.
                Location=f"/tus/{upload_id}",
                **{"Upload-Expires": expires.strftime("%a, %d %b %Y %H:%M:%S GMT")},
            ),
        )

    async def status(request: Request) -> Response:
        person = await member(request, changes=False)
        upload = await find(request, person)
        offset = path_of(upload.id).stat().st_size if path_of(upload.id).exists() else upload.length
        return Response(
            status_code=200,
            headers=headers(**{"Upload-Offset": str(offset), "Upload-Length": str(upload.length)}),
        )

    async def append(request: Request) -> Response:
        person = await member(request, changes=True)
        upload = await find(request, person)
        if request.headers.get("content-type") != "application/offset+octet-stream":
            raise _WrongType("PATCH bodies are application/offset+octet-stream")
        path = path_of(upload.id)
        if upload.finished is not None or not path.exists():
            raise Conflict("this upload is already complete")
        offset_text = request.headers.get("upload-offset", "")
        current = path.stat().st_size
        if not offset_text.isdigit() or int(offset_text) != current:
            raise Conflict(f"Upload-Offset must be {current}")
        written = current
        with path.open("ab") as handle:
            try:
                async for chunk in request.stream():
                    if not chunk:
                        continue
                    if written + len(chunk) > upload.length:
                        raise TooLarge("more bytes than Upload-Length announced")
                    handle.write(chunk)
                    written += len(chunk)
            except ClientDisconnect:
                pass  # keep what arrived: the client asks for the offset and resumes
            finally:
                handle.flush()
                await run_in_threadpool(os.fsync, handle.fileno())
        if written == upload.length:
            upload.finished = timezone.now()
            await node.call(lambda: upload.save(update_fields=["finished"]))
            await node.call(on_finished, upload, path)
        return Response(status_code=204, headers=headers(**{"Upload-Offset": str(written)}))

    async def terminate(request: Request) -> Response:
        person = await member(request, changes=True)
        upload = await find(request, person)
        path_of(upload.id).unlink(missing_ok=True)
        await node.call(lambda: Upload.objects.filter(pk=upload.id).delete())
        return Response(status_code=204, headers=headers())

    async def collection(request: Request) -> Response:
        return await create(request)

    async def resource(request: Request) -> Response:
        if request.method == "HEAD":
            return await status(request)
        if request.method == "PATCH":
            return await append(request)
        return await terminate(request)

    return {"collection": guarded(collection), "resource": guarded(resource)}


def sweep(folder: Path) -> int:
    """Delete expired, unfinished uploads and their bytes; returns how many."""
    stale = Upload.objects.filter(finished__isnull=True, expires__lt=timezone.now())
    count = 0
    for upload in stale:
        (folder / upload.id).unlink(missing_ok=True)
        upload.delete()
        count += 1
    return count
