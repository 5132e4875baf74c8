"""Blob records: who uploaded what, listing and deletion (synchronous, ORM)."""

from __future__ import annotations

import mimetypes
import re
import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from minga.blobs.models import Blob, BlobOwner
from minga.blobs.storage import BlobStore
from minga.exceptions import InvalidInput, NotFound

_MIME = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


def clean_type(value: str | None) -> str:
    """A safe MIME type (parameters dropped), or application/octet-stream."""
    base = (value or "").split(";", 1)[0].strip().lower()
    return base if _MIME.fullmatch(base) else "application/octet-stream"


def extension(mime: str) -> str:
    ext = mimetypes.guess_extension(mime, strict=False) or ".bin"
    return {".jpe": ".jpg", ".jpeg": ".jpg"}.get(ext, ext)


@dataclass(frozen=True)
class Descriptor:
    sha256: str
    size: int
    type: str
    uploaded: int
    private: bool = False

    def as_json(self, base_url: str) -> dict[str, Any]:
        return {
            "url": f"{base_url}/{self.sha256}{extension(self.type)}",
            "sha256": self.sha256,
            "size": self.size,
            "type": self.type,
            "uploaded": self.uploaded,
        }


def _descriptor(blob: Blob) -> Descriptor:
    return Descriptor(blob.sha256, blob.size, blob.type, blob.uploaded, blob.private)


def record(sha256: str, size: int, mime: str, owner: str, private: bool = False) -> Descriptor:
    """Record that ``owner`` uploaded this (already stored) blob.

    A blob first recorded as private stays private until recorded public (the
    same bytes published on purpose, e.g. an unedited photo without metadata).
    """
    now = int(time.time())
    with transaction.atomic():
        blob, created = Blob.objects.get_or_create(
            sha256=sha256,
            defaults={"size": size, "type": clean_type(mime), "uploaded": now, "private": private},
        )
        if not created and blob.private and not private:
            blob.private = False
            blob.save(update_fields=["private"])
        BlobOwner.objects.get_or_create(blob=blob, pubkey=owner, defaults={"uploaded": now})
    return _descriptor(blob)


def find(sha256: str) -> Descriptor | None:
    blob = Blob.objects.filter(sha256=sha256).first()
    return _descriptor(blob) if blob else None


def listing(pubkey: str, cursor: str | None, limit: int) -> list[Descriptor]:
    owned = BlobOwner.objects.filter(pubkey=pubkey).select_related("blob")
    if cursor:
        mark = BlobOwner.objects.filter(pubkey=pubkey, blob_id=cursor).first()
        if mark is None:
            raise InvalidInput("cursor is not one of this key's blobs")
        owned = owned.filter(uploaded__lte=mark.uploaded).exclude(
            uploaded=mark.uploaded, blob_id__gte=cursor
        )
    rows = owned.order_by("-uploaded", "-blob_id")[:limit]
    return [_descriptor(o.blob) for o in rows]


def delete(sha256: str, owner: str, store: BlobStore) -> None:
    """Drop ``owner``'s claim; the bytes go when nobody claims the blob."""
    with transaction.atomic():
        claim = BlobOwner.objects.filter(blob_id=sha256, pubkey=owner).first()
        if claim is None:
            raise NotFound("no blob with this hash was uploaded by this key")
        claim.delete()
        orphan = not BlobOwner.objects.filter(blob_id=sha256).exists()
        if orphan:
            Blob.objects.filter(sha256=sha256).delete()
    if orphan:
        store.delete(sha256)
