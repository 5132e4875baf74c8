"""What a file really is, from its first bytes (never from its name or the client)."""

from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext as _

from minga.exceptions import InvalidBlob

IMAGE = "image"
VIDEO = "video"
AUDIO = "audio"


def sniff(path: Path) -> tuple[str, str]:
    """(family, MIME type) of a file; refuses what minga does not publish."""
    with path.open("rb") as handle:
        head = handle.read(64)
    if head.startswith(b"\xff\xd8\xff"):
        return IMAGE, "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return IMAGE, "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return IMAGE, "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return IMAGE, "image/gif"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
            raise InvalidBlob(
                "HEIC/AVIF photos are not supported yet: share the photo as JPEG"
                " (most phones do when sending from the gallery)"
            )
        if brand in (b"M4A ", b"M4B "):
            return AUDIO, "audio/mp4"
        return VIDEO, "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return VIDEO, "video/webm"
    if head.startswith(b"OggS"):
        return AUDIO, "audio/ogg"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return AUDIO, "audio/mpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return AUDIO, "audio/wav"
    if head[:2] in (b"\xff\xf1", b"\xff\xf9"):
        return AUDIO, "audio/aac"
    raise InvalidBlob(_("this file is not a photo, video or audio file minga can publish"))
