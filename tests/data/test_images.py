import re

import cv2
import numpy as np
import pytest

from emonb.data.images import read_image, to_grey
from emonb.errors import DataError


def test_read_rgb_grey_alpha_16bit(tmp_path):
    rgb = np.zeros((5, 6, 3), np.uint8)
    rgb[..., 0] = 200  # red
    cv2.imwrite(str(tmp_path / "c.png"), rgb[..., ::-1])
    out = read_image(tmp_path / "c.png")
    assert out.shape == (5, 6, 3) and out[0, 0].tolist() == [200, 0, 0]
    assert read_image(tmp_path / "c.png", grey=True)[0, 0] == round(0.299 * 200)
    cv2.imwrite(str(tmp_path / "g.png"), np.full((4, 4), 7, np.uint8))
    assert read_image(tmp_path / "g.png").shape == (4, 4)
    cv2.imwrite(str(tmp_path / "a.png"), np.dstack([rgb[..., ::-1], np.full((5, 6), 9, np.uint8)]))
    assert read_image(tmp_path / "a.png").shape == (5, 6, 3)
    cv2.imwrite(str(tmp_path / "w.png"), np.full((3, 3), 65535, np.uint16))
    w = read_image(tmp_path / "w.png")
    assert w.dtype == np.uint8 and w.max() == 255


def test_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match="nope.png: no such image file"):
        read_image(tmp_path / "nope.png")
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(DataError, match="bad.jpg: not a readable image"):
        read_image(tmp_path / "bad.jpg")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(DataError, match="empty.png"):
        read_image(tmp_path / "empty.png")


def test_to_grey_float_matches_uint8():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    a = to_grey(img).astype(float)
    b = to_grey(img.astype(np.float32))
    assert np.abs(a - b).max() <= 1.0
    with pytest.raises(ValueError):
        to_grey(np.zeros((2, 2, 5)))


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".webp", ".pgm", ".ppm"])
def test_declared_size_reads_the_header(tmp_path, ext):
    from emonb.data.images import declared_size

    img = np.zeros((30, 50, 1 if ext == ".pgm" else 3), np.uint8)
    path = tmp_path / f"x{ext}"
    assert cv2.imwrite(str(path), img)
    assert declared_size(path.read_bytes()) == (50, 30)
    assert declared_size(b"not an image") is None and declared_size(b"\x89PNG\r\n\x1a\n") is None


def test_damaged_images_say_one_thing(tmp_path, capfd):
    """A truncated PNG, a JPEG with junk before its end marker, a header declaring 10^10 pixels: one
    DataError each, and nothing from OpenCV, libpng or libjpeg on stderr."""
    import struct
    import zlib

    from emonb.data.images import MAX_PIXELS

    rng = np.random.default_rng(0)
    photo = cv2.resize(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), (200, 160))
    cv2.imwrite(str(tmp_path / "a.png"), photo)
    cv2.imwrite(str(tmp_path / "a.jpg"), photo)
    png, jpg = (tmp_path / "a.png").read_bytes(), (tmp_path / "a.jpg").read_bytes()
    (tmp_path / "cut.png").write_bytes(png[: len(png) // 2])
    (tmp_path / "bad.jpg").write_bytes(bytes(jpg[:-2]) + bytes(43) + b"\xff\xd9")  # junk before EOI
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    (tmp_path / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk)
    capfd.readouterr()
    for name, says in (("cut.png", "libpng error"), ("bad.jpg", "Corrupt JPEG data"),
                       ("huge.png", f"more than emonb reads ({MAX_PIXELS // 10**6} megapixels)")):  # fmt: skip
        with pytest.raises(DataError, match=f"{name}: .*{re.escape(says)}"):
            read_image(tmp_path / name)
    assert capfd.readouterr() == ("", "")
    assert read_image(tmp_path / "a.png").shape == (160, 200, 3)
