"""From an uploaded file to publishable media: the original kept private,
a clean copy (and smaller sizes, a poster) public, a NIP-94 record signed.

Nothing of the upload is public before its clean copy exists: the original
goes into the blob store as a private blob (its hash is the record's ``ox``),
the clean files as public blobs, and the record itself stays under embargo
until the dispatch that shows it is published.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from minga.blobs import service
from minga.blobs.storage import BlobStore
from minga.events.kinds import FILE_METADATA
from minga.exceptions import MingaError
from minga.media import images, video
from minga.media.models import Media, MediaStatus
from minga.media.sniff import AUDIO, IMAGE, VIDEO, sniff
from minga.newsroom.models import Custody, Person
from minga.newsroom.signing import sign_as
from minga.store.ingest import ingest

log = logging.getLogger(__name__)


@dataclass
class Stored:
    sha256: str
    size: int
    mime: str
    url: str
    width: int = 0
    height: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "mime": self.mime,
            "url": self.url,
            "width": self.width,
            "height": self.height,
        }


@dataclass
class Outcome:
    family: str
    main: Stored
    original: str
    variants: list[Stored] = field(default_factory=list)
    poster: Stored | None = None
    faces: int = 0
    duration: float = 0.0


def _store(blobs: BlobStore, path: Path, mime: str, owner: str, private: bool) -> Stored:
    size = path.stat().st_size
    sha, _ = blobs.adopt(path)
    service.record(sha, size, mime, owner, private=private)
    url = f"{settings.MINGA.base_url}/{sha}{service.extension(mime)}"
    return Stored(sha, size, mime, url)


def _process_image(
    path: Path, work: Path, mime: str, blur: bool, blobs: BlobStore, owner: str
) -> tuple[Stored, list[Stored], int]:
    result = images.sanitize(path, work, blur, mime)
    main = _store(blobs, result.main.path, result.main.mime, owner, private=False)
    main.width, main.height = result.main.width, result.main.height
    variants = []
    for rendition in result.variants:
        stored = _store(blobs, rendition.path, rendition.mime, owner, private=False)
        stored.width, stored.height = rendition.width, rendition.height
        variants.append(stored)
    return main, variants, result.faces_blurred


def run(media: Media, upload: Path, blobs: BlobStore) -> Outcome:
    """Make the clean copies of ``upload``; the original becomes a private blob."""
    family, mime = sniff(upload)
    work = Path(tempfile.mkdtemp(prefix=f"media-{media.id}-", dir=blobs.tmp))
    try:
        if family == IMAGE:
            main, variants, found = _process_image(
                upload, work, mime, media.blur_faces, blobs, media.owner
            )
            original = _store(blobs, upload, mime, media.owner, private=True)
            return Outcome(family, main, original.sha256, variants, faces=found)
        info = video.probe(upload)
        if family == VIDEO and not info.has_video:
            family = AUDIO
        _, out_mime, suffix = video.target_format(info)
        clean = work / f"clean{suffix}"

        def progress(fraction: float) -> None:
            Media.objects.filter(pk=media.pk).update(progress=round(fraction, 3))

        found = 0
        if family == VIDEO and media.blur_faces:
            found = video.blur(upload, clean, info, progress)
            out_mime = "video/mp4"
        else:
            video.strip(upload, clean, info, progress)
        poster = None
        if family == VIDEO:
            frame = video.poster(clean)
            frame_path = work / "poster.jpg"
            frame.convert("RGB").save(frame_path, "JPEG", quality=80)
            poster_result = images.sanitize(frame_path, work, False, "image/jpeg")
            poster = _store(blobs, poster_result.main.path, "image/jpeg", media.owner, False)
            poster.width, poster.height = poster_result.main.width, poster_result.main.height
        main = _store(blobs, clean, out_mime, media.owner, private=False)
        main.width, main.height = info.width, info.height
        if info.rotation in (90, 270, -90, -270):
            main.width, main.height = info.height, info.width
        original = _store(blobs, upload, mime, media.owner, private=True)
        return Outcome(family, main, original.sha256, [], poster, found, info.duration)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def record_tags(outcome: Outcome, alt: str) -> list[list[str]]:
    """NIP-94 tags of the clean file (and minga's ``variant`` tags for other sizes)."""
    main = outcome.main
    tags = [
        ["url", main.url],
        ["m", main.mime],
        ["x", main.sha256],
        ["ox", outcome.original],
        ["size", str(main.size)],
    ]
    if main.width and main.height:
        tags.append(["dim", f"{main.width}x{main.height}"])
    if outcome.poster is not None:
        tags.append(["image", outcome.poster.url, outcome.poster.sha256])
        tags.append(["thumb", outcome.poster.url, outcome.poster.sha256])
    elif outcome.variants:
        small = outcome.variants[0]
        tags.append(["thumb", small.url, small.sha256])
    if alt.strip():
        tags.append(["alt", alt.strip()])
    for variant in outcome.variants:
        tags.append(
            [
                "variant",
                variant.url,
                variant.sha256,
                f"{variant.width}x{variant.height}",
                variant.mime,
            ]
        )
    return tags


def imeta(outcome: Outcome, alt: str) -> list[str]:
    """The NIP-92 ``imeta`` tag a dispatch carries for this file."""
    main = outcome.main
    parts = [
        "imeta",
        f"url {main.url}",
        f"m {main.mime}",
        f"x {main.sha256}",
        f"ox {outcome.original}",
    ]
    if main.width and main.height:
        parts.append(f"dim {main.width}x{main.height}")
    if alt.strip():
        parts.append(f"alt {alt.strip()}")
    if outcome.poster is not None:
        parts.append(f"image {outcome.poster.url}")
    return parts


def process(media_id: str, upload: Path, blobs: BlobStore) -> Media:
    """Process one finished upload; the Media row ends ready or failed, never half-way."""
    media = Media.objects.get(pk=media_id)
    Media.objects.filter(pk=media_id).update(status=MediaStatus.PROCESSING, progress=0.0)
    try:
        outcome = run(media, upload, blobs)
        tags = record_tags(outcome, media.alt)
        person = Person.objects.filter(pubkey=media.owner).first()
        result: dict[str, Any] = {
            "family": outcome.family,
            "main": outcome.main.as_json(),
            "original": outcome.original,
            "variants": [v.as_json() for v in outcome.variants],
            "poster": outcome.poster.as_json() if outcome.poster else None,
            "faces": outcome.faces,
            "duration": round(outcome.duration, 2),
            "imeta": imeta(outcome, media.alt),
        }
        if person is not None and person.custody == Custody.CUSTODIAL:
            record = sign_as(person, FILE_METADATA, media.caption, tags)
            answer = ingest([record])[0]
            if not answer.ok:
                raise MingaError(
                    _("the media record was refused: %(reason)s") % {"reason": answer.message}
                )
            result["event"] = record.id
        else:
            result["template"] = {"kind": FILE_METADATA, "content": media.caption, "tags": tags}
        Media.objects.filter(pk=media_id).update(
            status=MediaStatus.READY, result=result, progress=1.0
        )
    except MingaError as exc:
        log.info("media %s refused: %s", media_id, exc.message)
        upload.unlink(missing_ok=True)
        Media.objects.filter(pk=media_id).update(status=MediaStatus.FAILED, error=exc.message)
    except Exception as exc:  # never leave a job "processing" forever
        log.exception("media %s failed", media_id)
        Media.objects.filter(pk=media_id).update(
            status=MediaStatus.FAILED, error=f"processing failed: {type(exc).__name__}"
        )
    return Media.objects.get(pk=media_id)
