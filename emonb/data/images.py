"""Reading images from disk as plain arrays (RGB or grey uint8)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from emonb.errors import DataError

__all__ = ["read_image", "to_grey"]


def read_image(path: str | os.PathLike[str], *, grey: bool = False) -> np.ndarray:
    """Read an image file as uint8: (H, W, 3) RGB, or (H, W) when grey or ``grey=True``.

    Alpha is dropped and 16-bit images are scaled to 8 bits. Raises
    :class:`~emonb.errors.DataError` naming the file when it is missing or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such image file")
    buf = np.fromfile(path, dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if buf.size else None
    if img is None:
        raise DataError(f"{path}: not a readable image (unknown format or corrupt file)")
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
