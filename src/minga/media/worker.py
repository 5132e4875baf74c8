"""Media jobs in the node process: one thread, jobs recorded in the database,
so a job interrupted by a crash runs again at the next start."""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Any

from django.db import close_old_connections, connection

from minga.blobs.models import Upload
from minga.blobs.storage import BlobStore
from minga.media.models import Media, MediaStatus
from minga.media.pipeline import process

log = logging.getLogger(__name__)


def media_for_upload(upload: Upload) -> Media:
    """The Media row of a finished upload, from its tus metadata."""
    meta: dict[str, Any] = upload.metadata or {}
    media, _ = Media.objects.update_or_create(
        id=upload.id,
        defaults={
            "owner": upload.owner,
            "status": MediaStatus.PROCESSING,
            "blur_faces": meta.get("blur") in ("1", "true", "yes"),
            "alt": str(meta.get("alt", ""))[:2000],
            "caption": str(meta.get("caption", ""))[:4000],
            "filename": str(meta.get("filename", ""))[:255],
        },
    )
    return media


class MediaWorker:
    def __init__(self, blobs: BlobStore, uploads: Path) -> None:
        self.blobs = blobs
        self.uploads = uploads
        self.jobs: queue.Queue[str | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="media", daemon=True)

    def start(self) -> None:
        self.thread.start()
        for media in Media.objects.filter(status=MediaStatus.PROCESSING):
            log.info("media %s: processing again after a restart", media.id)
            self.jobs.put(media.id)

    def finished(self, upload: Upload, path: Path) -> None:
        """tus callback (in a worker thread): queue the processing of this upload."""
        media_for_upload(upload)
        self.jobs.put(upload.id)

    def stop(self) -> None:
        self.jobs.put(None)
        self.thread.join(timeout=600)

    def _run(self) -> None:
        while True:
            media_id = self.jobs.get()
            if media_id is None:
                connection.close()
                return
            close_old_connections()
            path = self.uploads / media_id
            if not path.exists():
                Media.objects.filter(pk=media_id).update(
                    status=MediaStatus.FAILED, error="the uploaded file is gone"
                )
                continue
            process(media_id, path, self.blobs)
