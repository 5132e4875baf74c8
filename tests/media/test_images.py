from __future__ import annotations

import struct
import zlib

import pytest
from PIL import Image

from minga.exceptions import InvalidBlob, TooLarge
from minga.media import faces, images
from minga.media.sniff import sniff
from tests.samples import face_photo, photo_with_metadata, revealing


def test_every_revealing_tag_is_gone_and_the_photo_is_upright(tmp_path):
    source = photo_with_metadata(tmp_path)
    result = images.sanitize(source, tmp_path, blur_faces=False)
    assert revealing(result.main.path) == {}
    # Orientation 6 (rotate 90°) was applied to the pixels: width and height swap.
    with Image.open(source) as original:
        assert (result.main.width, result.main.height) == (original.height, original.width)
    for rendition in result.variants:
        assert revealing(rendition.path) == {}
    assert [r.label for r in result.variants] == ["w320"]


def test_png_stays_png_without_its_text_chunks(tmp_path):
    image = face_photo()
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Rosa Quispe")
    info.add_text("Comment", "plaza")
    source = tmp_path / "captura.png"
    image.save(source, pnginfo=info)
    assert revealing(source)
    result = images.sanitize(source, tmp_path, blur_faces=False, mime="image/png")
    assert result.main.mime == "image/png"
    assert revealing(result.main.path) == {}


def test_faces_are_found_and_blurred(tmp_path):
    image = face_photo()
    found = faces.detect(image)
    assert len(found) == 1
    box = found[0]
    assert 150 < (box.x0 + box.x1) / 2 < 300  # the astronaut's face
    assert 50 < (box.y0 + box.y1) / 2 < 200
    source = tmp_path / "cara.jpg"
    image.save(source)
    result = images.sanitize(source, tmp_path, blur_faces=True)
    assert result.faces_blurred == 1
    with Image.open(result.main.path) as blurred:
        assert faces.detect(blurred) == []  # nothing recognisable is left


def test_no_faces_in_noise():
    assert faces.detect(Image.effect_noise((640, 480), 60).convert("RGB")) == []


def test_corrupt_photo_is_refused(tmp_path):
    source = tmp_path / "rota.jpg"
    good = tmp_path / "buena.jpg"
    face_photo().save(good)
    source.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(InvalidBlob, match="damaged"):
        images.sanitize(source, tmp_path, blur_faces=False)


def test_decompression_bomb_is_refused(tmp_path):
    # A tiny PNG that claims 100,000 x 100,000 pixels.
    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )
    source = tmp_path / "bomba.png"
    source.write_bytes(bomb)
    with pytest.raises(TooLarge, match="megapixels"):
        images.sanitize(source, tmp_path, blur_faces=False, mime="image/png")


@pytest.mark.parametrize(
    ("data", "family"),
    [
        (b"\xff\xd8\xff\xe0rest", "image"),
        (b"\x89PNG\r\n\x1a\nrest", "image"),
        (b"\x00\x00\x00\x18ftypmp42rest", "video"),
        (b"\x1a\x45\xdf\xa3rest", "video"),
        (b"OggSrest", "audio"),
        (b"ID3rest", "audio"),
    ],
)
def test_sniffing_trusts_bytes_not_names(tmp_path, data, family):
    path = tmp_path / "cualquier-nombre.txt"
    path.write_bytes(data)
    assert sniff(path)[0] == family


@pytest.mark.parametrize("data", [b"<html><script>alert(1)</script>", b"MZ\x90\x00 an exe", b""])
def test_sniffing_refuses_other_files(tmp_path, data):
    path = tmp_path / "foto.jpg"
    path.write_bytes(data)
    with pytest.raises(InvalidBlob, match="not a photo, video or audio"):
        sniff(path)


def test_heic_gets_a_clear_message(tmp_path):
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic" + b"\0" * 20)
    with pytest.raises(InvalidBlob, match="HEIC"):
        sniff(path)
