"""The canonical layout of an aligned 48x48 face: the boxes where brows, eyes, nose and mouth
sit in FER-2013's registered faces (the regions used when no face mesh is at hand)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emonb.errors import EmonbError

__all__ = ["FACE_REGIONS", "LAYOUT_SIZE", "region_masks"]

#: Canonical regions of an aligned 48x48 FER-2013 face, as boxes ``(x0, y0, x1, y1)``
#: (end exclusive), one per side for brows and eyes. FER-2013's faces are registered so
#: that the eyes sit near (14.5, 18.4) and (32.5, 18.1) and the mouth near (24.4, 36.9):
#: the medians of OpenCV's eye and smile detections on 1,500 PublicTest faces
#: (:func:`emonb.metrics.regions.check_layout`); about 72% of eye and 74% of smile
#: detections fall inside. Tightly cropped faces of other sizes scale it.
FACE_REGIONS: dict[str, tuple[tuple[int, int, int, int], ...]] = {
    "brows": ((8, 9, 23, 15), (25, 9, 40, 15)),
    "eyes": ((9, 15, 22, 24), (26, 15, 39, 24)),
    "nose": ((18, 24, 30, 32), ()),
    "mouth": ((13, 32, 36, 43), ()),
}
#: The side of the grid :data:`FACE_REGIONS` is given on.
LAYOUT_SIZE = 48


def region_masks(size: int | tuple[int, int] = LAYOUT_SIZE,
                 regions: Sequence[str] | None = None) -> dict[str, np.ndarray]:  # fmt: skip
    """The canonical :data:`FACE_REGIONS` as boolean masks (H, W), scaled to ``size``.

    ``regions`` picks and orders them (default: all); an unknown name is an error listing
    the valid ones.
    """
    h, w = (size, size) if isinstance(size, int) else size
    names = list(FACE_REGIONS) if regions is None else list(regions)
    unknown = [r for r in names if r not in FACE_REGIONS]
    if unknown:
        raise EmonbError(f"unknown face region {unknown[0]!r}; valid: {', '.join(FACE_REGIONS)}")
    sy, sx = h / LAYOUT_SIZE, w / LAYOUT_SIZE
    out = {}
    for name in names:
        m = np.zeros((h, w), dtype=bool)
        for box in FACE_REGIONS[name]:
            if box:
                x0, y0, x1, y1 = box
                m[round(y0 * sy) : round(y1 * sy), round(x0 * sx) : round(x1 * sx)] = True
        out[name] = m
    return out
