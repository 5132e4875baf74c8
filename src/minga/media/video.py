"""Video and audio through FFmpeg (PyAV): checked, stripped, faces blurred on request.

Stripping keeps the first video and the first audio stream only (data
streams such as a camera's GPS telemetry are left behind), copies their
packets unchanged into a new container written with ``bitexact`` flags, and
sets no metadata: no location, dates, device, encoder or handler names of the
phone survive. The display rotation is kept, so portrait clips stay upright.
Blurring faces decodes every frame, blurs what CenterFace finds and encodes
H.264 again (audio is still copied).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
from django.utils.translation import gettext as _
from PIL import Image

from minga.exceptions import InvalidBlob, TooLarge
from minga.media import faces

CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4", "matroska,webm": "webm", "ogg": "ogg", "mp3": "mp3"}
VIDEO_CODECS = {"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"}
AUDIO_CODECS = {"aac", "opus", "mp3", "vorbis", "flac"}
MP4_AUDIO = {"aac", "mp3", "opus", "flac"}
WEBM_VIDEO = {"vp8", "vp9", "av1"}
WEBM_AUDIO = {"opus", "vorbis"}
MAX_SECONDS = 4 * 3600
MAX_SIDE = 7680
DETECT_EVERY = 3  # frames between face detections while blurring (boxes carry over)

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Info:
    container: str
    width: int
    height: int
    duration: float
    video_codec: str | None
    audio_codec: str | None
    rotation: int

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None


def _open(path: Path) -> Any:
    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise InvalidBlob(
            f"this file is damaged or not a video/audio file ({str(exc)[:80]})"
        ) from exc


# FFmpeg names decoders, not formats: several decoders read one format.
_ALIASES = {
    "mp3float": "mp3",
    "aac_fixed": "aac",
    "libopus": "opus",
    "libvorbis": "vorbis",
    "libdav1d": "av1",
}


def _codec(stream: Any) -> str:
    name = str(stream.codec_context.name)
    return _ALIASES.get(name, name)


def probe(path: Path) -> Info:
    """Open, check the format and codecs, and decode the first frame."""
    container = _open(path)
    try:
        family = container.format.name
        if family not in CONTAINERS:
            raise InvalidBlob(_("the container %(name)s is not accepted here") % {"name": family})
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise InvalidBlob(_("this file has neither video nor audio"))
        vcodec = _codec(video) if video is not None else None
        acodec = _codec(audio) if audio is not None else None
        if vcodec is not None and vcodec not in VIDEO_CODECS:
            raise InvalidBlob(
                _("the video codec '%(name)s' is not accepted here") % {"name": vcodec}
            )
        if acodec is not None and acodec not in AUDIO_CODECS:
            raise InvalidBlob(
                _("the audio codec '%(name)s' is not accepted here") % {"name": acodec}
            )
        duration = float(container.duration or 0) / av.time_base
        if duration > MAX_SECONDS:
            raise TooLarge(
                _("clips here are at most %(hours)d hours long") % {"hours": MAX_SECONDS // 3600}
            )
        width = height = rotation = 0
        if video is not None:
            width, height = video.codec_context.width, video.codec_context.height
            if max(width, height) > MAX_SIDE or min(width, height) <= 0:
                raise InvalidBlob(
                    _("a %(width)dx%(height)d video is not accepted here")
                    % {"width": width, "height": height}
                )
        first = video if video is not None else audio
        try:
            frame = next(container.decode(first), None)
        except (av.error.FFmpegError, ValueError) as exc:
            raise InvalidBlob(
                _("this file cannot be decoded (%(detail)s)") % {"detail": str(exc)[:80]}
            ) from exc
        if frame is None:
            raise InvalidBlob(_("this file holds no frame that can be decoded"))
        if video is not None:
            rotation = int(getattr(frame, "rotation", 0) or 0)
        return Info(family, width, height, duration, vcodec, acodec, rotation)
    finally:
        container.close()


def target_format(info: Info) -> tuple[str, str, str]:
    """(FFmpeg muxer, MIME type, suffix) of the clean copy."""
    if info.has_video:
        if info.video_codec in WEBM_VIDEO and (
            info.audio_codec in WEBM_AUDIO or info.audio_codec is None
        ):
            return "webm", "video/webm", ".webm"
        return "mp4", "video/mp4", ".mp4"
    if info.audio_codec == "aac":
        return "ipod", "audio/mp4", ".m4a"
    if info.audio_codec == "mp3":
        return "mp3", "audio/mpeg", ".mp3"
    return "ogg", "audio/ogg", ".ogg"


def _output(path: Path, muxer: str) -> Any:
    options = {"fflags": "+bitexact"}
    if muxer in ("mp4", "ipod"):
        options["movflags"] = "+faststart"
    if muxer == "mp3":
        options.update({"id3v2_version": "0", "write_id3v1": "0", "write_xing": "0"})
    return av.open(str(path), "w", format=muxer, options=options)


def strip(source: Path, target: Path, info: Info, progress: Progress | None = None) -> None:
    """Copy the first video and audio streams into a new container, without metadata."""
    muxer = target_format(info)[0]
    if muxer == "mp4" and info.audio_codec is not None and info.audio_codec not in MP4_AUDIO:
        raise InvalidBlob(
            _("%(codec)s audio cannot be kept with this video") % {"codec": info.audio_codec}
        )
    inp = _open(source)
    out = _output(target, muxer)
    try:
        streams = []
        mapping = {}
        if info.has_video:
            video = inp.streams.video[0]
            copy = out.add_stream_from_template(video)
            if info.rotation:
                copy.set_display_rotation(info.rotation)
            mapping[video.index] = copy
            streams.append(video)
        if info.audio_codec is not None:
            audio = inp.streams.audio[0]
            mapping[audio.index] = out.add_stream_from_template(audio)
            streams.append(audio)
        for copy in mapping.values():
            copy.metadata.clear()
        total = max(info.duration, 0.001)
        for packet in inp.demux(*streams):
            if packet.dts is None:
                continue
            if progress is not None and packet.pts is not None and packet.time_base:
                progress(min(1.0, float(packet.pts * packet.time_base) / total))
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)
    except av.error.FFmpegError as exc:
        raise InvalidBlob(
            _("this file could not be rewritten (%(detail)s)") % {"detail": str(exc)[:80]}
        ) from exc
    finally:
        out.close()
        inp.close()


def blur(source: Path, target: Path, info: Info, progress: Progress | None = None) -> int:
    """Re-encode the video with every detected face blurred; returns frames with faces."""
    if not info.has_video:
        raise InvalidBlob(_("there are no faces to blur in an audio file"))
    inp = _open(source)
    out = _output(target, "mp4")
    with_faces = 0
    try:
        video = inp.streams.video[0]
        rate = video.average_rate or Fraction(25, 1)
        encoder = out.add_stream("libx264", rate=rate)
        encoder.width = info.width - info.width % 2
        encoder.height = info.height - info.height % 2
        encoder.pix_fmt = "yuv420p"
        encoder.options = {"crf": "23", "preset": "veryfast"}
        if info.rotation:
            encoder.set_display_rotation(info.rotation)
        streams = [video]
        audio_copy = None
        if info.audio_codec is not None:
            audio = inp.streams.audio[0]
            if info.audio_codec not in MP4_AUDIO:
                raise InvalidBlob(
                    _("%(codec)s audio cannot be kept with this video")
                    % {"codec": info.audio_codec}
                )
            audio_copy = out.add_stream_from_template(audio)
            audio_copy.metadata.clear()
            streams.append(audio)
        encoder.metadata.clear()
        boxes: list[faces.Box] = []
        count = 0
        total = max(info.duration, 0.001)
        for packet in inp.demux(*streams):
            if packet.stream.type == "audio":
                if packet.dts is not None and audio_copy is not None:
                    packet.stream = audio_copy
                    out.mux(packet)
                continue
            for frame in packet.decode():
                image = frame.to_image()
                if count % DETECT_EVERY == 0:
                    boxes = faces.detect(image)
                count += 1
                if boxes:
                    with_faces += 1
                    image = faces.blur(image, boxes)
                image = image.crop((0, 0, encoder.width, encoder.height))
                clean = av.VideoFrame.from_image(image)
                clean.pts = frame.pts
                clean.time_base = frame.time_base
                for encoded in encoder.encode(clean):
                    out.mux(encoded)
                if progress is not None and frame.time is not None:
                    progress(min(1.0, float(frame.time) / total))
        for encoded in encoder.encode(None):
            out.mux(encoded)
    except av.error.FFmpegError as exc:
        raise InvalidBlob(
            _("this video could not be re-encoded (%(detail)s)") % {"detail": str(exc)[:80]}
        ) from exc
    finally:
        out.close()
        inp.close()
    return with_faces


def poster(path: Path) -> Image.Image:
    """The first frame as an image, upright (for thumbnails)."""
    container = _open(path)
    try:
        frame = next(container.decode(container.streams.video[0]))
        image = frame.to_image()
        rotation = int(getattr(frame, "rotation", 0) or 0)
    finally:
        container.close()
    if rotation:
        image = image.rotate(rotation, expand=True)
    return image
