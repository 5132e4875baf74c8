from __future__ import annotations

import pytest

from minga.exceptions import InvalidBlob
from minga.media import faces, video
from tests.samples import audio_with_metadata, exif, ffmpeg, revealing, video_with_metadata


def test_strip_removes_location_device_and_dates(tmp_path):
    source = video_with_metadata(tmp_path)
    assert revealing(source)
    info = video.probe(source)
    assert (info.video_codec, info.audio_codec, info.width, info.height) == (
        "h264",
        "aac",
        320,
        240,
    )
    clean = tmp_path / "clean.mp4"
    video.strip(source, clean, info)
    assert revealing(clean) == {}
    meta = exif(clean)
    assert meta.get("QuickTime:CreateDate") in (None, "0000:00:00 00:00:00")
    assert video.probe(clean).duration == pytest.approx(info.duration, abs=0.2)


def test_portrait_clips_stay_upright(tmp_path):
    source = video_with_metadata(tmp_path, rotate=90)
    info = video.probe(source)
    assert info.rotation == 90
    clean = tmp_path / "clean.mp4"
    video.strip(source, clean, info)
    assert video.probe(clean).rotation == 90


def test_faces_in_video_are_blurred(tmp_path):
    source = video_with_metadata(tmp_path, faces=True, seconds=1)
    info = video.probe(source)
    assert faces.detect(video.poster(source))  # the sample shows a face
    clean = tmp_path / "blurred.mp4"
    frames = video.blur(source, clean, info)
    assert frames > 0
    assert revealing(clean) == {}
    assert faces.detect(video.poster(clean)) == []


@pytest.mark.parametrize(("name", "codec"), [("a.m4a", "aac"), ("a.mp3", "mp3"), ("a.ogg", "opus")])
def test_audio_loses_its_tags(tmp_path, name, codec):
    source = audio_with_metadata(tmp_path, name)
    assert revealing(source)
    info = video.probe(source)
    assert not info.has_video
    assert info.audio_codec == codec
    _, _mime, suffix = video.target_format(info)
    clean = tmp_path / f"clean{suffix}"
    video.strip(source, clean, info)
    assert revealing(clean) == {}, exif(clean)


def test_truncated_video_is_refused(tmp_path):
    source = video_with_metadata(tmp_path)
    broken = tmp_path / "rota.mp4"
    broken.write_bytes(source.read_bytes()[:3000])
    with pytest.raises(InvalidBlob):
        video.probe(broken)


def test_garbage_with_a_video_header_is_refused(tmp_path):
    fake = tmp_path / "falso.mp4"
    fake.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 100)
    with pytest.raises(InvalidBlob):
        video.probe(fake)


def test_unexpected_codecs_are_refused(tmp_path):
    mjpeg_in_mkv = tmp_path / "raro.mkv"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x64:rate=5:duration=1",
        "-c:v",
        "mjpeg",
        str(mjpeg_in_mkv),
    )
    with pytest.raises(InvalidBlob, match="codec 'mjpeg'"):
        video.probe(mjpeg_in_mkv)


def test_data_streams_are_left_behind(tmp_path):
    source = video_with_metadata(tmp_path)
    subtitles = tmp_path / "sub.srt"
    subtitles.write_text("1\n00:00:00,000 --> 00:00:01,000\nRosa Quispe, calle Ocoña 123\n")
    with_subs = tmp_path / "subs.mp4"
    ffmpeg(
        "-i",
        str(source),
        "-i",
        str(subtitles),
        "-map",
        "0",
        "-map",
        "1",
        "-c",
        "copy",
        "-c:s",
        "mov_text",
        str(with_subs),
    )
    clean = tmp_path / "clean.mp4"
    video.strip(with_subs, clean, video.probe(with_subs))
    assert b"Rosa Quispe" not in clean.read_bytes()
