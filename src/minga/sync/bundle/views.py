"""The desk uploads bundle parts from a page, and sees what came in.

The upload is streamed to ``<data_dir>/bundles/uploads/`` (never held in
memory) and stops at the setting ``max_bundle_upload_bytes``; the parts are
then imported inline, exactly as ``minga bundle import`` does, and removed —
the import journal remembers which parts are in, so parts may come in
several uploads, in any order.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from minga.exceptions import MingaError
from minga.newsroom.views.access import desk_required
from minga.sync.bundle.importer import Importer, Report

MAX_FILES = 1000
_FORM_SLACK = 1 << 20  # the form's own fields and multipart boundaries


class _Part(UploadedFile):
    """An uploaded part, already on disk under the node's data folder."""

    def __init__(self, path: Path, name: str, size: int) -> None:
        super().__init__(None, name, "application/octet-stream", size)
        self.path = path

    def close(self) -> None:  # nothing held open
        pass


class BundleUploadHandler(FileUploadHandler):
    """Writes each file of the request to its own temporary file, counting bytes."""

    def __init__(self, request: HttpRequest, folder: Path, limit: int) -> None:
        super().__init__(request)
        self.folder = folder
        self.limit = limit
        self.total = 0
        self.too_large = False
        self.paths: list[Path] = []
        self._handle: Any = None
        self._path: Path | None = None

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        if len(self.paths) >= MAX_FILES:
            raise StopUpload(connection_reset=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.folder, prefix="upload-", suffix=".minga")
        self._path = Path(name)
        self._handle = os.fdopen(fd, "wb")
        self.paths.append(self._path)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.total += len(raw_data)
        if self.total > self.limit:
            self.too_large = True
            self._handle.close()
            raise StopUpload(connection_reset=True)
        self._handle.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> UploadedFile | None:
        self._handle.close()
        assert self._path is not None
        return _Part(self._path, self.file_name or "part.minga", file_size)

    def cleanup(self) -> None:
        if self._handle is not None and not self._handle.closed:
            self._handle.close()
        for path in self.paths:
            path.unlink(missing_ok=True)


def _render(
    request: HttpRequest,
    report: Report | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "report": report,
        "error": error,
        "limit": settings.MINGA.max_bundle_upload_bytes,
    }
    return render(request, "sync/bundles.html", context, status=status)


@csrf_exempt  # checked below, once the upload handler is in place
@require_http_methods(["GET", "POST"])
@desk_required
def bundles(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _render(request)
    config = settings.MINGA
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > config.max_bundle_upload_bytes + _FORM_SLACK:
        return _too_large(request)
    handler = BundleUploadHandler(
        request, config.data_path / "bundles" / "uploads", config.max_bundle_upload_bytes
    )
    # The handler must be set before the body is read, hence CSRF after it.
    request.upload_handlers = [handler]
    return _upload(request, handler)


@csrf_protect
def _upload(request: HttpRequest, handler: BundleUploadHandler) -> HttpResponse:
    try:
        files = request.FILES.getlist("parts")
        if handler.too_large:
            return _too_large(request)
        if not files:
            return _render(request, error=_("Choose one or more bundle files."), status=400)
        paths = [f.path for f in files if isinstance(f, _Part)]
        try:
            report = Importer(settings.MINGA).run(paths)
        except MingaError as exc:
            return _render(request, error=exc.message, status=exc.status)
        return _render(request, report=report)
    finally:
        handler.cleanup()


def _too_large(request: HttpRequest) -> HttpResponse:
    limit = int(settings.MINGA.max_bundle_upload_bytes)
    message = _("The upload is larger than %(limit)s bytes.") % {"limit": f"{limit:,}"}
    return _render(request, error=message, status=413)
