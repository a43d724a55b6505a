"""Reading images from disk as plain arrays (RGB or grey uint8).

:func:`read_image` fails with one :class:`~emonb.errors.DataError` naming the file, and
nothing else on stderr: the size an image's header declares is checked before decoding
(:data:`MAX_PIXELS`), and what OpenCV, libpng and libjpeg would print while decoding a
damaged file is caught and becomes part of that one error (:func:`quiet_decoder`).
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from emonb.errors import DataError

__all__ = ["MAX_PIXELS", "declared_size", "decode_image", "quiet_decoder", "read_image", "to_grey"]

#: The largest image :func:`read_image` decodes, in pixels (width x height; 100 megapixels,
#: 300 MB as RGB): a bigger declared size is refused before any pixel is allocated.
MAX_PIXELS = 100_000_000

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(buf: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 <= len(buf):
        if buf[i] != 0xFF:
            return None
        marker = buf[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", buf[i + 2 : i + 4])
        if marker in _JPEG_SOF:
            h, w = struct.unpack(">HH", buf[i + 5 : i + 9])
            return w, h
        i += 2 + length
    return None


def _pnm_size(buf: bytes) -> tuple[int, int] | None:
    fields: list[bytes] = []
    for line in buf[2:512].split(b"\n"):
        fields += line.split(b"#", 1)[0].split()
        if len(fields) >= 2:
            break
    try:
        return int(fields[0]), int(fields[1])
    except (IndexError, ValueError):
        return None


def declared_size(buf: bytes) -> tuple[int, int] | None:
    """``(width, height)`` an image file's header declares (PNG, JPEG, BMP, GIF, WebP,
    PNM), without decoding it; None for other formats or a header too short to say."""
    try:
        if buf[:8] == b"\x89PNG\r\n\x1a\n" and len(buf) >= 24:
            return struct.unpack(">II", buf[16:24])
        if buf[:2] == b"\xff\xd8":
            return _jpeg_size(buf)
        if buf[:2] == b"BM" and len(buf) >= 26:
            w, h = struct.unpack("<ii", buf[18:26])
            return w, abs(h)  # a negative height is a top-down bitmap
        if buf[:6] in (b"GIF87a", b"GIF89a") and len(buf) >= 10:
            return struct.unpack("<HH", buf[6:10])
        if buf[:4] == b"RIFF" and buf[8:12] == b"WEBP" and len(buf) >= 30:
            kind = buf[12:16]
            if kind == b"VP8 ":
                w, h = struct.unpack("<HH", buf[26:30])
                return w & 0x3FFF, h & 0x3FFF
            if kind == b"VP8L":
                bits = int.from_bytes(buf[21:25], "little")
                return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            if kind == b"VP8X":
                return (int.from_bytes(buf[24:27], "little") + 1,
                        int.from_bytes(buf[27:30], "little") + 1)  # fmt: skip
        if buf[:1] == b"P" and buf[1:2] in b"123456" and len(buf) > 2:
            return _pnm_size(buf)
    except struct.error:
        return None
    return None


@contextmanager
def quiet_decoder() -> Iterator[list[str]]:
    """Silence OpenCV's log and catch what its codecs (libpng, libjpeg) write to stderr.

    Yields a list that holds, after the block, the lines they wrote (OpenCV's own
    ``[ WARN:...]`` lines are not shown at all). The process's stderr is redirected for
    the block's duration, so keep the block to one decode.
    """
    lines: list[str] = []
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    fd = 2  # the C libraries' stderr, whatever Python's sys.stderr is now
    saved = None
    try:
        sys.stderr.flush()
        with tempfile.TemporaryFile() as sink:
            try:
                saved = os.dup(fd)
                os.dup2(sink.fileno(), fd)
            except OSError:
                saved = None
            try:
                yield lines
            finally:
                if saved is not None:
                    os.dup2(saved, fd)
                    os.close(saved)
                sink.seek(0)
                text = sink.read().decode("utf-8", "replace")
                lines += [ln.strip() for ln in text.splitlines() if ln.strip()]
    finally:
        cv2.utils.logging.setLogLevel(level)


def decode_image(buf: np.ndarray | bytes, name: str | os.PathLike[str], *,
                 flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:  # fmt: skip
    """Decode an encoded image (a file's bytes) with OpenCV, or raise one
    :class:`~emonb.errors.DataError` naming ``name``: empty, too large
    (:data:`MAX_PIXELS`), unknown format, truncated or corrupt. A file the codec decodes
    only in part (libjpeg's "Corrupt JPEG data") is an error, not a half-grey image."""
    data = np.frombuffer(buf, dtype=np.uint8) if isinstance(buf, bytes) else buf
    if data.size == 0:
        raise DataError(f"{name}: not a readable image (empty file)")
    size = declared_size(data[:65536].tobytes())
    if size is not None:
        w, h = size
        if w <= 0 or h <= 0:
            raise DataError(f"{name}: not a readable image (its header declares {w}x{h} pixels)")
        if w * h > MAX_PIXELS:
            raise DataError(f"{name}: its header declares {w}x{h} pixels, more than emonb reads "
                            f"({MAX_PIXELS // 1_000_000} megapixels)")  # fmt: skip
    with quiet_decoder() as said:
        try:
            img = cv2.imdecode(data, flags)
        except cv2.error:
            img = None
    if img is None:
        why = f" ({said[0]})" if said else " (unknown format or corrupt file)"
        raise DataError(f"{name}: not a readable image{why}")
    if said:
        raise DataError(f"{name}: not a readable image, damaged or truncated ({said[0]})")
    return img


def read_image(path: str | os.PathLike[str], *, grey: bool = False) -> np.ndarray:
    """Read an image file as uint8: (H, W, 3) RGB, or (H, W) when grey or ``grey=True``.

    Alpha is dropped and 16-bit images are scaled to 8 bits. Raises
    :class:`~emonb.errors.DataError` naming the file when it is missing, unreadable,
    damaged, truncated or declares more than :data:`MAX_PIXELS` pixels; nothing else is
    written to stderr.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such image file")
    try:
        buf = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from None
    img = decode_image(buf, path)
    if img.dtype == np.uint16:
        img = (img / 257.0).round().astype(np.uint8)
    elif img.dtype != np.uint8:
        raise DataError(f"{path}: unsupported pixel type {img.dtype}")
    if img.ndim == 3:
        code = cv2.COLOR_BGRA2RGB if img.shape[2] == 4 else cv2.COLOR_BGR2RGB
        img = cv2.cvtColor(img, code) if img.shape[2] in (3, 4) else img[..., 0]
    return to_grey(img) if grey else img


def to_grey(image: np.ndarray) -> np.ndarray:
    """RGB(A) or grey image -> grey, same dtype (ITU-R BT.601 luma, as OpenCV)."""
    image = np.asarray(image)
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[..., 0]
    if image.ndim == 3 and image.shape[2] in (3, 4):
        rgb = image[..., :3]
        if rgb.dtype == np.uint8:
            return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
        weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return (rgb.astype(np.float32) @ weights).astype(image.dtype)
    raise ValueError(
        f"expected an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image, got shape {image.shape}"
    )
