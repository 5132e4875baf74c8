"""Photos: decoded, turned upright, re-encoded from pixels only.

Re-encoding is the stripping: the new file is written from the pixels alone,
so EXIF (GPS, camera make, model, serial, owner), XMP, IPTC, maker notes,
comments and ICC profiles from the camera never reach it. Decoding through
Pillow with a pixel budget also refuses decompression bombs and files that
only pretend to be images.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from minga.exceptions import InvalidBlob, TooLarge
from minga.media import faces

MAX_PIXELS = 60_000_000  # a 60-megapixel photo; more is refused, not resized
WIDTHS = (320, 640, 1280)  # responsive sizes served with srcset
QUALITY = 82


@dataclass
class Rendition:
    path: Path
    mime: str
    width: int
    height: int
    label: str  # "main", "w640", "thumb"…


@dataclass
class ImageResult:
    main: Rendition
    variants: list[Rendition] = field(default_factory=list)
    faces_blurred: int = 0


def load(path: Path) -> Image.Image:
    """Decode completely (not just the header) or refuse with a clear reason."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                if opened.width * opened.height > MAX_PIXELS:
                    raise TooLarge(
                        _("photos here are at most %(count)d megapixels")
                        % {"count": MAX_PIXELS // 1_000_000}
                    )
                opened.load()
                upright = ImageOps.exif_transpose(opened)
                return upright if upright is not None else opened.copy()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooLarge(
            _("photos here are at most %(count)d megapixels") % {"count": MAX_PIXELS // 1_000_000}
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidBlob(
            _("this photo is damaged or not a photo (%(detail)s)") % {"detail": str(exc)[:80]}
        ) from exc


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new image from the pixel values alone: no info dict, no profile, no EXIF."""
    mode = "RGBA" if "A" in image.getbands() else "RGB"
    converted = image.convert(mode)
    return Image.frombytes(mode, converted.size, converted.tobytes())


def _save(image: Image.Image, path: Path, as_png: bool, label: str) -> Rendition:
    if as_png:
        image.save(path, "PNG", optimize=True)
        mime = "image/png"
    else:
        image.convert("RGB").save(path, "JPEG", quality=QUALITY, optimize=True, progressive=True)
        mime = "image/jpeg"
    return Rendition(path, mime, image.width, image.height, label)


def sanitize(
    source: Path, out_dir: Path, blur_faces: bool, mime: str = "image/jpeg"
) -> ImageResult:
    """Write a clean copy (and smaller sizes) of the photo at ``source`` into ``out_dir``.

    PNG stays PNG (screenshots, graphics); every other photo becomes JPEG.
    """
    image = _pixels_only(load(source))
    as_png = mime == "image/png"
    blurred = 0
    if blur_faces:
        boxes = faces.detect(image)
        blurred = len(boxes)
        image = faces.blur(image, boxes)
    suffix = ".png" if as_png else ".jpg"
    result = ImageResult(
        _save(image, out_dir / f"main{suffix}", as_png, "main"), faces_blurred=blurred
    )
    for width in WIDTHS:
        if width >= image.width:
            continue
        height = max(1, round(image.height * width / image.width))
        smaller = image.resize((width, height), Image.Resampling.LANCZOS)
        result.variants.append(_save(smaller, out_dir / f"w{width}{suffix}", as_png, f"w{width}"))
    return result
