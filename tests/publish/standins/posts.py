"""Posts for channel tests: real image files on disk, as the blob store holds them."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from minga.publish.channels.base import Attachment, Post
from minga.publish.channels.content import Picture
from tests.samples import noise


def jpeg(folder: Path, width: int, height: int, quality: int = 90) -> Attachment:
    buffer = io.BytesIO()
    noise(width, height).save(buffer, "JPEG", quality=quality)
    data = buffer.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    path = folder / f"{sha}.jpg"
    path.write_bytes(data)
    return Attachment(path, "image/jpeg", "", sha, len(data))


def picture(folder: Path, alt: str = "Marcha en la plaza San Martín", big: bool = False) -> Picture:
    """A photo with two smaller copies; ``big``: the photo itself is over 1 MB."""
    main = jpeg(folder, 1400, 1000, 100) if big else jpeg(folder, 320, 240)
    variants = (jpeg(folder, 160, 120), jpeg(folder, 640, 480)) if big else ()
    return Picture(
        main.path,
        main.mime,
        alt,
        main.sha256,
        main.size,
        1400 if big else 320,
        1000 if big else 240,
        variants,
    )


def dispatch(folder: Path, **changes: object) -> Post:
    values: dict[str, object] = {
        "key": "30023:" + "a" * 64 + ":paro-dia-1",
        "number": 7,
        "title": "Primer día del paro",
        "summary": "Desde las cinco no circula el transporte. Unas tres mil personas marchan.",
        "text": "Desde las cinco no circula el transporte.\n\nUnas tres mil personas marchan.",
        "html": "<p>Desde las cinco no circula el transporte.</p>\n<p>Unas tres mil personas marchan.</p>",
        "url": "https://noticias.example/site/d/7/",
        "language": "es",
        "hashtags": ("paronacional", "Transporte"),
        "outlet": "Prueba",
    }
    values.update(changes)
    if "attachments" not in values:
        values["attachments"] = (picture(folder),)
    return Post(**values)  # type: ignore[arg-type]
