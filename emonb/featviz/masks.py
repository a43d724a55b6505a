"""Masked-face starts: grey out face regions before maximising (the seed paper's experiment).

The regions are the one canonical face layout of emonb, :data:`emonb.anatomy.layout.FACE_REGIONS`
(boxes on the aligned 48x48 grid), scaled to the image size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emonb.anatomy.layout import FACE_REGIONS, region_masks
from emonb.errors import EmonbError

__all__ = ["mask_regions"]


def _region_mask(name: str, h: int, w: int) -> np.ndarray:
    """The union of the regions in ``name`` (names joined by ``_``: ``"eyes_mouth"``)."""
    parts = name.split("_")
    if not name or any(p not in FACE_REGIONS for p in parts):
        raise EmonbError(
            f"unknown face region {name!r}; valid: {', '.join(FACE_REGIONS)}, "
            "or several joined by '_' (eyes_mouth)"
        )
    return np.logical_or.reduce(list(region_masks((h, w), parts).values()))


def mask_regions(
    face: np.ndarray,
    boxes: Sequence[tuple[int, int, int, int]] | str = "eyes_mouth",
    fill: float = 0.5,
) -> np.ndarray:
    """A copy of ``face`` with regions filled with grey (e.g. eyes and mouth removed).

    Parameters
    ----------
    face
        (H, W) or (H, W, C) image, uint8 or float in [0, 1]: an aligned, tightly cropped
        face for region names.
    boxes
        Pixel boxes ``(x, y, w, h)`` (as :class:`emonb.faces.Box`), or region names from
        :data:`emonb.anatomy.layout.FACE_REGIONS` (``"brows"``, ``"eyes"``, ``"nose"``,
        ``"mouth"``), several joined by ``_`` (``"eyes_mouth"``), scaled from the 48x48
        layout to the image size (:func:`emonb.anatomy.layout.region_masks`).
    fill
        Grey level in [0, 1] (uint8 images get ``round(fill * 255)``).

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``face``.

    References
    ----------
    Zeiler & Fergus 2014, "Visualizing and understanding convolutional networks"
    (occlusion).
    """
    img = np.array(face, copy=True)
    if img.ndim not in (2, 3):
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {img.shape}")
    if not 0.0 <= fill <= 1.0:
        raise ValueError(f"fill is a grey level in [0, 1], got {fill}")
    h, w = img.shape[:2]
    value = round(fill * 255) if img.dtype == np.uint8 else fill
    if isinstance(boxes, str):
        img[_region_mask(boxes, h, w)] = value
        return img
    for x, y, bw, bh in boxes:
        x0, y0 = max(int(x), 0), max(int(y), 0)
        x1, y1 = min(int(x + bw), w), min(int(y + bh), h)
        img[y0:y1, x0:x1] = value
    return img
