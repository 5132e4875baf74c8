"""The demo's photo: a street scene drawn here (no real person, no real place),
saved the way a phone would — with GPS and camera details — so the demo shows
the media pipeline taking them out before anything is public."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from PIL import Image, ImageDraw

from minga.blobs.storage import BlobStore
from minga.media.models import Media, MediaStatus
from minga.media.pipeline import process
from minga.newsroom.models import Person

ALT = "Pancarta de «Paro nacional» sobre una avenida vacía al amanecer (ilustración de la demo)"


def draw() -> Image.Image:
    width, height = 1600, 1000
    image = Image.new("RGB", (width, height))
    pixels = ImageDraw.Draw(image)
    for y in range(height // 2):  # dawn sky
        shade = y / (height / 2)
        pixels.line([(0, y), (width, y)], fill=(int(250 - 90 * shade), int(170 - 60 * shade), 120))
    pixels.rectangle([0, height // 2, width, height], fill=(70, 70, 76))  # the avenue
    for x in range(0, width, 160):  # lane marks
        pixels.rectangle(
            [x + 40, int(height * 0.75), x + 110, int(height * 0.75) + 10], fill=(230, 230, 210)
        )
    for n, x in enumerate(range(-40, width, 230)):  # buildings
        top = 170 + (n * 53) % 140
        pixels.rectangle([x, top, x + 200, height // 2], fill=(120 + n % 3 * 15, 95, 90))
        for wy in range(top + 20, height // 2 - 30, 50):
            for wx in range(x + 20, x + 180, 45):
                pixels.rectangle([wx, wy, wx + 22, wy + 28], fill=(245, 215, 140))
    pixels.rectangle([360, 380, 1240, 560], fill=(240, 236, 225), outline=(163, 39, 31), width=12)
    pixels.text((800, 470), "PARO NACIONAL", fill=(163, 39, 31), font_size=84, anchor="mm")
    return image


def with_phone_metadata(image: Image.Image, path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "DemoPhone"  # Make
    exif[0x0110] = "DemoPhone 12"  # Model
    exif[0x0132] = "2026:11:26 06:12:00"  # DateTime
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "S", (12.0, 2.0, 47.0)  # latitude
    gps[3], gps[4] = "W", (77.0, 2.0, 34.0)  # longitude
    image.save(path, "JPEG", quality=88, exif=exif)


def demo_photo(person: Person, blobs: BlobStore) -> list[str]:
    """Process the demo photo for ``person``; returns the imeta tag for a dispatch."""
    media = Media.objects.create(
        id=uuid.uuid4().hex, owner=person.pubkey, alt=ALT, status=MediaStatus.PROCESSING
    )
    with tempfile.TemporaryDirectory(prefix="minga-demo-") as folder:
        upload = Path(folder) / "IMG_0001.jpg"
        with_phone_metadata(draw(), upload)
        done = process(media.id, upload, blobs)
    if done.status != MediaStatus.READY:
        raise RuntimeError(f"the demo photo could not be processed: {done.error}")
    return list(done.result["imeta"])
