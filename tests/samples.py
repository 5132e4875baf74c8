"""Media samples made here, with the metadata a phone leaves in them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args: str) -> None:
    """Run the shipped ffmpeg quietly; a failure fails the test that asked."""
    subprocess.run([FFMPEG, "-y", "-v", "error", *args], check=True)


EXIFTOOL = shutil.which("exiftool")

# Anything that could name a device, a person or a place.
REVEALING = re.compile(
    r"GPS|Make|Model|Serial|Owner|Artist|Creator|Location|By-line|Author|Copyright|Software"
    r"|Encoder|HostComputer|Lens|Comment|XMP|Title|Description|Keywords|Credit",
    re.IGNORECASE,
)


def exif(path: Path) -> dict[str, object]:
    """Everything exiftool (the outside checker) reads in a file, embedded streams included."""
    assert EXIFTOOL, "exiftool is needed (Debian package libimage-exiftool-perl)"
    out = subprocess.run(
        [EXIFTOOL, "-j", "-a", "-G1", "-ee", str(path)], capture_output=True, text=True, check=True
    )
    data: dict[str, object] = json.loads(out.stdout)[0]
    return data


GENERIC_HANDLERS = {"VideoHandler", "SoundHandler"}  # FFmpeg's own names, the same for everyone


def revealing(path: Path) -> dict[str, object]:
    return {
        k: v
        for k, v in exif(path).items()
        if REVEALING.search(k)
        and not k.startswith(("System:", "ExifTool:"))
        and not (k.endswith("HandlerDescription") and v in GENERIC_HANDLERS)
        and not k.endswith("CopyrightFlag")  # a bit of every MP3 frame header
    }


def face_photo() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut())


def tag_photo(path: Path) -> None:
    subprocess.run(
        [
            EXIFTOOL,
            "-q",
            "-overwrite_original",
            "-n",
            "-GPSLatitude=12.0463",
            "-GPSLatitudeRef=S",
            "-GPSLongitude=77.0428",
            "-GPSLongitudeRef=W",
            "-Make=Apple",
            "-Model=iPhone 12",
            "-SerialNumber=C39XK1234",
            "-OwnerName=Rosa Quispe",
            "-Artist=Rosa Quispe",
            "-Software=iOS 17.1",
            "-UserComment=plaza san martin",
            "-XMP-dc:Creator=Rosa Quispe",
            "-IPTC:By-line=Rosa Quispe",
            "-IPTC:City=Lima",
            "-Orientation=6",
            str(path),
        ],
        check=True,
    )


def photo_with_metadata(folder: Path, name: str = "foto.jpg") -> Path:
    path = folder / name
    face_photo().save(path, quality=92)
    tag_photo(path)
    assert revealing(path), "the sample should carry metadata"
    return path


def video_with_metadata(
    folder: Path, name: str = "clip.mp4", seconds: int = 2, faces: bool = False, rotate: int = 0
) -> Path:
    path = folder / name
    source = ["-f", "lavfi", "-i", f"testsrc=size=320x240:rate=15:duration={seconds}"]
    if faces:
        still = folder / "face.png"
        face_photo().resize((320, 320)).save(still)
        source = ["-loop", "1", "-t", str(seconds), "-framerate", "15", "-i", str(still)]
    rotation = ["-display_rotation:v:0", str(rotate)] if rotate else []
    ffmpeg(
        *source,
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:sample_rate=44100:duration={seconds}",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        "-metadata",
        "location=+12.0463-077.0428/",
        "-metadata",
        "make=Apple",
        "-metadata",
        "model=iPhone 12",
        "-metadata",
        "creation_time=2026-11-27T10:00:00Z",
        "-metadata",
        "title=marcha",
        "-metadata:s:v",
        "handler_name=Core Media Video",
        str(path),
    )
    if rotate:
        turned = folder / f"r-{name}"
        ffmpeg(*rotation, "-i", str(path), "-c", "copy", str(turned))
        return turned
    return path


def audio_with_metadata(folder: Path, name: str = "audio.m4a") -> Path:
    path = folder / name
    codec = (
        ["-c:a", "aac"]
        if name.endswith(".m4a")
        else ["-c:a", "libmp3lame"]
        if name.endswith(".mp3")
        else ["-c:a", "libopus"]
    )
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000:duration=2",
        *codec,
        "-metadata",
        "artist=Rosa Quispe",
        "-metadata",
        "title=entrevista",
        "-metadata",
        "location=+12.0463-077.0428/",
        "-metadata",
        "comment=grabado en la plaza",
        str(path),
    )
    return path


def noise(width: int, height: int) -> Image.Image:
    return Image.fromarray(
        np.random.default_rng(1).integers(0, 255, (height, width, 3), dtype=np.uint8)
    )
